"""A DuckDB warehouse of touches and conversions for the attribution
benchmark, generated in SQL inside DuckDB (nothing row-level in Python).

For ``touches`` rows: ``touches / 20`` customers over 90 days from
2026-09-01; each touch a random customer and second; channels direct 20%,
organic_search 18%, paid_search 15%, email 20%, push 7%, and SMS 20% (a
view, or a click one time in five) from one of four flows. Conversions are
a tenth of the touches, at random customers and seconds, a purchase or
(one in ten) a renewal, log-normal values; one in a hundred redeems a
message's coupon code. The same count always gives the same file, cached
by its row count under the system's temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

__all__ = ["warehouse_file"]

FORMAT_VERSION = 1
FLOWS = ("abandoned_cart", "browse_abandonment", "renewal_reminder", "winback")
START = "2026-09-01 00:00:00"
SPAN_SECONDS = 90 * 86_400


def warehouse_file(touches: int, folder: Path | None = None) -> Path:
    """The DuckDB file for ``touches`` touches, built once and cached."""
    folder = folder or Path(tempfile.gettempdir()) / "liftlab-bench-attribution"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"attribution-v{FORMAT_VERSION}-{touches}.duckdb"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    units = max(touches // 20, 1)
    conversions = max(touches // 10, 1)
    flows = ", ".join(f"('{key}')" for key in FLOWS)
    with duckdb.connect(str(partial)) as db:
        db.execute("SET memory_limit = '1GB'")
        db.execute("SELECT setseed(0.42)")
        db.execute(
            f"""
            CREATE TABLE flows AS
            SELECT key, 'flow' AS kind, key AS name, 10.0 AS holdout_percent,
                   24.0::DOUBLE AS view_window_hours,
                   120.0::DOUBLE AS click_window_hours
            FROM (VALUES {flows}) v(key)
            """
        )
        db.execute(
            f"""
            CREATE TABLE touches AS
            WITH drawn AS (
                SELECT range AS n, random() AS pick, random() AS flow_pick,
                       random() AS click_pick,
                       CAST(floor(random() * {units}) AS BIGINT) AS unit,
                       CAST(floor(random() * {SPAN_SECONDS}) AS BIGINT) AS second
                FROM range({touches})
            )
            SELECT 'tch-' || n AS touch_id,
                   'cus-' || unit AS unit_id,
                   CASE WHEN pick < 0.20 THEN 'direct'
                        WHEN pick < 0.38 THEN 'organic_search'
                        WHEN pick < 0.53 THEN 'paid_search'
                        WHEN pick < 0.73 THEN 'email'
                        WHEN pick < 0.80 THEN 'push'
                        ELSE 'sms' END AS channel,
                   CASE WHEN pick >= 0.80 AND click_pick >= 0.2 THEN 'view'
                        WHEN pick < 0.20 OR (pick >= 0.20 AND pick < 0.38)
                             THEN 'session'
                        ELSE 'click' END AS kind,
                   TIMESTAMP '{START}' + to_seconds(second) AS occurred_at,
                   CASE WHEN pick >= 0.80
                        THEN (['{"','".join(FLOWS)}'])[1 + CAST(floor(flow_pick * 4)
                             AS INTEGER)]
                        END AS flow_key,
                   NULL::VARCHAR AS campaign,
                   NULL::VARCHAR AS message_id
            FROM drawn
            ORDER BY unit_id, occurred_at
            """
        )
        db.execute(
            f"""
            CREATE TABLE messages AS
            SELECT 'msg-' || range AS message_id,
                   (['{"','".join(FLOWS)}'])[1 + range % 4] AS flow_key,
                   'cus-0' AS unit_id,
                   TIMESTAMP '{START}' AS sent_at,
                   'CODE-' || range AS coupon_code
            FROM range({max(conversions // 100, 1)})
            """
        )
        db.execute(
            f"""
            CREATE TABLE conversions AS
            WITH drawn AS (
                SELECT range AS n, random() AS pick, random() AS coupon_pick,
                       CAST(floor(random() * {units}) AS BIGINT) AS unit,
                       CAST(floor(random() * {SPAN_SECONDS}) AS BIGINT) AS second,
                       exp(4 + 0.5 * sqrt(-2 * ln(random() + 1e-12))
                           * cos(6.283185307179586 * random())) AS amount
                FROM range({conversions})
            )
            SELECT 'cnv-' || n AS conversion_id,
                   'cus-' || unit AS unit_id,
                   TIMESTAMP '{START}' + to_seconds(second) AS occurred_at,
                   CASE WHEN pick < 0.9 THEN 'purchase' ELSE 'renewal' END AS type,
                   round(amount, 2) AS value,
                   NULL::VARCHAR AS channel,
                   CASE WHEN coupon_pick < 0.01
                        THEN 'CODE-' || (n % {max(conversions // 100, 1)}) END
                        AS coupon_code
            FROM drawn
            """
        )
        db.execute(
            """
            CREATE TABLE customer_segments AS
            SELECT DISTINCT unit_id, 'lifecycle' AS dimension,
                   CASE WHEN hash(unit_id) % 3 = 0 THEN 'new' ELSE 'returning' END
                   AS value
            FROM conversions
            """
        )
    partial.rename(path)
    return path
