"""The commands, by topic; each module's `register(subparsers, common, on_site)` adds its own."""
