"""The HTTP API for bureau systems, managers and leaders (FastAPI, under /api/v1).

- `app`: `create_app`, the routers and middleware; `routes/`: one module per area (bureau,
  manager, leader, admin, ladder, appeals, channels, trends, …);
- `auth`, `deps`: bearer tokens, roles and limits; `errors`, `schemas`, `openapi`: what a
  client sees; `service`: the API's calls into the domain;
- `dashboard/`: the 挂图 battle map for leaders (static page, its reads, the Excel export);
- `server`: serving the app with uvicorn inside `guatu up`.
"""

from guatu.api.app import create_app

__all__ = ["create_app"]
