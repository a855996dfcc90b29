"""The customer portal's site pages: server-rendered templates with htmx, one module per tab."""
