"""Server-rendered pages (the QR checkout)."""
