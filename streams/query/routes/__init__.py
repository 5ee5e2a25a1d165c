"""The query API's routers, one module per resource; `streams.query.api` includes them all."""
