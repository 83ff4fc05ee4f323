"""Demo users; the foundation issue fills this in."""


def seed(*, stdout):
    pass
