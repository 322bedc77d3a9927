"""Server-rendered pages: sign-in (OpenID Connect), the Office's portfolio and dashboard, the unit's pages."""
