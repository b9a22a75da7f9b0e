"""Seed an escrow with demo campaigns in every state.

    summary = seed_demo(w3, deployment, backers=200)
    print(summary.describe())

On a development node (anvil, or hardhat) backers are cheap: addresses derived from their index
get a balance with `anvil_setBalance` and send through `anvil_impersonateAccount`, and time is
moved with `evm_increaseTime`/`evm_mine`.

First the settled past (devnet.outcomes): a campaign that expired unclaimed, a milestone campaign
aborted for its creator's silence (abortStale), and one whose creator's contract refused its
payout, credited and then withdrawn elsewhere; then chain time jumps half a year (past
CLAIM_WINDOW and MAX_SILENCE; on a chain started in the past, as `crowdledger up` starts anvil, to
about twelve days before the wall clock). Then the live demo, whose deadlines come after the jump:
campaigns that are Funding, Succeeded (goal met, and keep-it-all short of its goal), Failed,
Cancelled and Claimed, in ETH, in the 18-decimal demo token (DUSD) and in a 6-decimal one (tUSDC,
contracts/demo/DemoStablecoin.sol), with pledges spread over a simulated week, some unpledges,
refunds, claims and a fee withdrawal in each asset.

Beside them, milestone campaigns in every phase: funding; succeeded with tranche 0 unclaimed; in
delivery with a release vote open right now (some backers approved, some rejected, the vote ends
days after the seeding, so the page shows it live); in delivery between tranches (tranche 1
released, no vote open); fully released, in ETH and in the token; and aborted by a rejected vote,
some backers refunded pro rata and the others not yet. Creators publish a few disclosures, on a
plain campaign too.

Every campaign's metadataHash, every report's and every disclosure's hash is the Keccak-256 of a
document (devnet.documents): the summary carries the documents' bytes, which `crowdledger up`
publishes once the ledger is indexed.

On ganache the node's unlocked accounts are the backers. On a real RPC URL with one funded key
there is neither impersonation nor time travel: the sender backs its own campaigns, which stay
Funding (a milestone campaign too) or get Cancelled (and refunded), and publishes disclosures; the
summary lists what was skipped.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from web3 import Web3

from devnet.deploy import NodeAccount, Sender, escrow_contract
from devnet.outcomes import deploy_receiver
from devnet.plan import ETH, Amounts
from devnet.seeder import Seeder, detect_capabilities
from devnet.seeding import Seeding
from devnet.summary import DAY, DEMO_TOKEN_SYMBOL, ETHER, STABLE_TOKEN_SYMBOL, SeedSummary
from devnet.tokens import demo_tokens
from ledger.chain.deployment import Deployment
from ledger.errors import ConfigError

# How far in the past a demo chain starts (LocalNode.start(genesis_age=...)): the settled past (two
# days of funding, then CLAIM_WINDOW and MAX_SILENCE: 180 days) and devnet.seeding.LIVE_SPAN fit
# before now.
DEMO_CHAIN_AGE = 200 * DAY


def seed_demo(
    w3: Web3,
    deployment: Deployment,
    *,
    backers: int = 24,
    sender: Sender | None = None,
    token_address: str | None = None,
    stable_token_address: str | None = None,
    seed: int = 7,
    eth_unit: int | None = None,
    token_unit: int = ETHER,
    time_travel: bool | None = None,
    impersonation: bool | None = None,
    unlocked_backers: bool = True,
    outcomes: bool = True,
    log: Callable[[str], None] | None = None,
) -> SeedSummary:
    """Create demo campaigns in every state the node allows; returns what was done.

    backers: how many distinct backers (all of them on anvil/hardhat; on ganache at most its
        other unlocked accounts; on a real node only the sender).
    sender: deploys the demo tokens the deployment lacks, mints, and withdraws the fees; by
        default the node's first unlocked account.
    token_address, stable_token_address: the 18-decimal demo token (DUSD) and the 6-decimal one
        (tUSDC) to use, else the deployment's, else deployed now.
    eth_unit: the ETH pledge scale in wei (pledges are 0.05-2 units): 1 ETH on development
        nodes, 0.0001 ETH elsewhere. token_unit likewise for DUSD (10-500 units); tUSDC pledges
        10-500 whole tokens of its own decimals.
    time_travel, impersonation, unlocked_backers: False turns off what detect_capabilities
        found (all three False makes anvil behave like a real node with one key).
    outcomes: the settled past (expired, stale-aborted, credited) before the live demo; it needs
        time travel.
    """
    say = log or (lambda message: None)
    if backers < 1:
        raise ConfigError("seed_demo needs at least one backer")
    caps = detect_capabilities(w3)
    if time_travel is False:
        caps.time_travel = False
    if impersonation is False:
        caps.impersonation = None
    if sender is None:
        accounts = list(w3.eth.accounts)
        if not accounts:
            raise ConfigError("seed_demo needs a sender: the node has no unlocked account")
        sender = NodeAccount(accounts[0])
    if eth_unit is None:
        eth_unit = ETHER if caps.development else ETHER // 10_000
    if not w3.eth.get_code(Web3.to_checksum_address(deployment.address)):
        raise ConfigError(
            f"no contract at {deployment.address}: deploy first (wrong chain or deployment file?)"
        )

    tokens, deployed = demo_tokens(w3, deployment, sender, token_address, stable_token_address, say)
    decimals = {ETH: 18, DEMO_TOKEN_SYMBOL: 18}
    units = {DEMO_TOKEN_SYMBOL: token_unit}
    if STABLE_TOKEN_SYMBOL in tokens:
        decimals[STABLE_TOKEN_SYMBOL] = int(tokens[STABLE_TOKEN_SYMBOL].functions.decimals().call())
        units[STABLE_TOKEN_SYMBOL] = 10 ** decimals[STABLE_TOKEN_SYMBOL]
    receiver = deploy_receiver(w3, sender) if outcomes and caps.time_travel else None
    seeder = Seeder(w3, sender, caps)
    seeder.start_batching()
    try:
        rng = random.Random(seed)  # one random stream for the plan and today's pledges: a seed, one demo
        demo = Seeding(
            seeder, deployment, escrow_contract(w3, deployment.address), tokens, decimals, caps, say
        )
        summary = demo.run(backers, rng, Amounts(rng, eth_unit, units), unlocked_backers, receiver)
    finally:
        seeder.stop_batching()
    summary.tokens_deployed = deployed
    summary.token_deployed = DEMO_TOKEN_SYMBOL in deployed
    return summary
