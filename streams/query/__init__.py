"""The query side: the view of the tables, its feed, the HTTP API with its routers, the page, a client."""
