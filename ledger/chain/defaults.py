"""The node client's and the deployment file's defaults, in a module that imports nothing, so that
the command line's parser can show them without importing requests or the chain code."""

DEFAULT_TIMEOUT = 30.0  # seconds for one JSON-RPC request, its whole answer included
DEFAULT_MAX_ANSWER_BYTES = 32 << 20  # the largest answer read from a node
MIN_ANSWER_BYTES = 1024  # a smaller cap could not hold one block header
DEFAULT_DEPLOYMENT = "deployments/local.json"
