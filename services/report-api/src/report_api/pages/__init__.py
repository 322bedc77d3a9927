"""Server-rendered pages for people: sign-in (OpenID Connect), the Office's follow-up portfolio."""
