"""File storage (filled in by the files work)."""


def init_files(app) -> None:
    pass
