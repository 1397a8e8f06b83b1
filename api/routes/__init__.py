"""One router per resource; `api.app` puts them together under /v1."""
