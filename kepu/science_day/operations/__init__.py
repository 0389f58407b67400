"""Every write of 全国科普日, by audience (validation, transition, audit, commit)."""
