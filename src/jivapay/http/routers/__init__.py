"""The role routers: one package per role, each only mounting the handlers that live with their
business context (``http/<context>/``) under the role's path and guard."""
