"""Errors a person at the machine can read: every message is meant to be shown as is."""


class FloortermError(Exception):
    """Base of every error floorterm raises on purpose; str(err) is the message for a person."""


class ConfigError(FloortermError):
    """The configuration file is missing or wrong; names the key."""


class InputError(FloortermError):
    """Typed or scanned input is not acceptable (quantity, job number, text, CSV row)."""


class DomainError(FloortermError):
    """The ledger refused an entry because it would break a rule; nothing was written."""


class PermissionDenied(DomainError):
    """The operator's role or terminal may not record this entry."""


class StoreError(FloortermError):
    """The store cannot be used: unreachable, locked too long, wrong schema, unsafe location."""


class OutputError(FloortermError):
    """A file floorterm was asked to write (an export, a printed sheet) cannot be written; none was left."""
