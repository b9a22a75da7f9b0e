"""The API's moving parts behind the routes: the database reader, the follower and auditor
threads, the entry notifier for the event stream, and the request metrics."""
