"""SMS service (filled in by the accounts/SMS work)."""


def init_sms(app) -> None:
    pass
