"""liftlab: incrementality for SMS marketing.

Where things live: ``assignment`` (the holdout hash, pure), ``identity``
(phone and unit id rules), ``experiments`` (holdout specs as code),
``audience`` (audience file splits), ``store`` (tables, migrations), and
``cli`` (the ``liftlab`` command).
"""

from __future__ import annotations

__version__ = "0.1.0"
