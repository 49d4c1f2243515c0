"""Product search on PostgreSQL: the SQL of ``q``, and the statements a search runs.

A search runs in one transaction (:func:`search_session`) whose first statement, the
*setup*, reads no product: it sets the planner options of the search (see
:func:`search_session`) and looks ``q`` up in the two small dictionaries of migration 0006:

- the **prefix**: the last word of a plain query matches as a prefix ("wireless head"
  finds "headphones"). The setup spells the prefix out as the known lexemes it begins
  (``'ultra' | 'ultralight'``), which GIN looks up exactly at a third of the cost per
  match of its own prefix scan (6 ms against 19 ms for a prefix in 57,000 of a million
  products). The result is a constant in the SQL that follows, so the planner estimates
  the match from its statistics, as it would a typed word.
- the **corrections**: known words of product names one edit away from each word of the
  query (``headphnes`` -> ``headphones``), found by trigram similarity in the dictionary of
  name words and checked exactly here (:func:`one_edit_apart`).

Then the full-text match (:meth:`SearchSession.exact`) runs on the stored, GIN-indexed
search vector. When it finds fewer than ``WIDEN_WHEN_FEWER_THAN`` products, the search
*widens* (:meth:`SearchSession.widened`) to ``q`` as a substring of the name (the name's
trigram index) and to the corrected words. A word that is spelt right and common does not
pull in lookalikes, and a common word never pays for the trigram scans.

A live, active variant whose sku is ``q`` exactly always matches (its product first). The
stored vector holds the product's name ('A'), description ('B') and the option values of its
variants ('C', ``Product.option_words``; migration 0012), so ``red mug`` finds a mug with a
Red variant.

Relevance has four tiers: an exact variant sku (4), full-text matches by ``ts_rank`` (2 to
3), then name-substring matches (1), then matches of corrected words only (below 1).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, FloatField
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

from nexus_shop.models import Product

__all__ = [
    "PLAN_SETTING",
    "WIDEN_WHEN_FEWER_THAN",
    "Match",
    "ProductSQL",
    "SearchSession",
    "one_edit_apart",
    "search_session",
]

# The stored, GIN-indexed vector (name 'A', description 'B') that migration 0004 adds and its
# trigger keeps current. "{t}" stands for the product table's alias (see ProductSQL).
SEARCH_VECTOR_SQL = '{t}."search_vector"'
NAME_SQL = '{t}."name"'
# A live, active variant's sku equal to q (its parameter): an exact code, ranked above every
# word match. = ANY(ARRAY(...)): the subquery runs once, on the variants' unique sku index,
# and its ids join the search's bitmaps by the primary key (a BitmapOr with the GIN scan).
SKU_SQL = (
    '{t}."id" = ANY(ARRAY(SELECT v."product_id" FROM "nexus_shop_productvariant" v '
    'WHERE v."sku" = %s AND v."deleted_at" IS NULL AND v."is_active"))'
)
SKU_RANK = "4"
# Migration 0006's dictionaries.
SEARCH_WORDS_TABLE = "nexus_shop_search_word"
SEARCH_LEXEMES_TABLE = "nexus_shop_search_lexeme"

# Marks the setup statement (planner options and dictionary look-ups, never a product row),
# in logs and for the tests.
PLAN_SETTING = "/* nexus_shop: plan setting */"

# A search widens (name substrings, corrected words) when fewer products than this match it.
WIDEN_WHEN_FEWER_THAN = 20
# Corrections are looked for only for words of at least this many letters: shorter ones are
# one edit away from too many others for a correction to mean much.
FUZZY_MIN_LENGTH = 4
# The trigram similarity a known word needs to be considered as a correction (pg_trgm's
# ``%`` on the dictionary's trigram index); one edit is then checked exactly. One edit in a
# word of five letters leaves a similarity of about 0.35.
CORRECTION_SIMILARITY = 0.3
# Known words considered per query word, most similar first.
CORRECTION_CANDIDATES = 8
# Lexemes a prefix may stand for; past that it stays GIN's own prefix scan.
PREFIX_LEXEMES = 50
# Matches from which walking a sort index (reading ~page_size x table/matches rows) beats
# fetching every match and sorting them (reading ~matches rows): about sqrt(21 x 1,000,000)
# on a million products, and the count tells which side a search is on.
WALK_SORT_INDEX_FROM = 5_000
# Memory for a search's bitmaps: at 4 MB (PostgreSQL's default) a word in 180,000 products
# ANDed with a category makes them lossy, and every row of the lossy pages is re-checked
# (380,000 rows, 1.3 s measured).
SEARCH_WORK_MEM = "32MB"
# What the planner assumes a page read at random costs, against 1 for one read in sequence
# (PostgreSQL's default is 4, for spinning disks). A search reads the catalogue's pages at
# random by nature, from memory or SSD. At 4, a misspelt common word ("weater": sweater,
# weather, water; 100,000 matches) was counted through the bitmap of every public product
# (900,000 entries, 148 ms) rather than the three matches' own bitmaps ORed (49 ms).
SEARCH_RANDOM_PAGE_COST = "1.1"

_LAST_WORD = re.compile(r"^(?P<head>.*?)(?P<word>\w+)$", re.DOTALL)
_WORD = re.compile(r"\w+")


class ProductSQL(RawSQL):
    """Raw SQL over the product row, ``{t}`` naming the product table as the query aliases it.

    ``RawSQL`` is pasted verbatim, so a hard-coded ``"nexus_shop_product"`` inside a
    subquery (where Django aliases the table ``U0``) would silently refer to the outer
    query's row. The search vector is not a model field (SQLite has no ``tsvector``), so
    ``F()`` cannot name it; this resolves the alias when the SQL is compiled. As with
    ``RawSQL``, the SQL text must be constant: user input goes in ``params`` only.
    """

    def as_sql(
        self, compiler: SQLCompiler | None, connection: BaseDatabaseWrapper | None
    ) -> tuple[str, tuple[Any, ...]]:
        if compiler is None:  # django-cachalot reads the SQL of a RawSQL for its table names
            table = f'"{Product._meta.db_table}"'
        else:
            # Django 6.1 renamed SQLCompiler.quote_name_unless_alias() to quote_name().
            quote = getattr(compiler, "quote_name", None) or compiler.quote_name_unless_alias
            table = quote(compiler.query.get_initial_alias())
        return f"({self.sql.replace('{t}', table)})", tuple(self.params)


@dataclass(frozen=True)
class Match:
    """A search's condition on the product row and its ``relevance`` expression."""

    condition: ProductSQL
    relevance: ProductSQL
    widened: bool


@dataclass
class SearchSession:
    """One search's setup (see the module docstring); ``active`` on PostgreSQL only."""

    q: str
    active: bool
    prefix: str | None = None  # tsquery text that stands for the last word's prefix
    candidates: dict[str, list[str]] = field(default_factory=dict)
    was_widened: bool = False  # :meth:`widened` was asked for (the metrics count it)

    def walk_sort_index_if_common(self, count: int | None) -> None:
        """After the count: let the page walk the sort key's index if the search is common.

        ``count`` is None in cursor mode (no count ran): a cursor means there was a next
        page, so leave it to the planner, which walks the index for a common word.
        """
        if self.active and (count is None or count >= WALK_SORT_INDEX_FROM):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT set_config('enable_indexscan', 'on', true) {PLAN_SETTING}")

    def exact(self) -> Match:
        """A variant's sku equal to ``q`` (ranked 4), or the full-text match of ``q``
        (ranked by ``ts_rank``, 2 to 3)."""
        tsquery, params = self._tsquery()
        condition = ProductSQL(
            f"{SKU_SQL} OR {SEARCH_VECTOR_SQL} @@ {tsquery}", [self.q, *params], BooleanField()
        )
        # ts_rank(..., 32) is rank / (rank + 1): the same order, and below 1 so tiers hold.
        # float8, so the value read back into a cursor compares exactly (float4 text does not).
        relevance = ProductSQL(
            f"(CASE WHEN {SKU_SQL} THEN {SKU_RANK} "
            f"ELSE 2 + ts_rank({SEARCH_VECTOR_SQL}, {tsquery}, 32) END)::float8",
            [self.q, *params],
            FloatField(),
        )
        return Match(condition, relevance, widened=False)

    def widened(self) -> Match:
        """The full-text match, or ``q`` in the name, or the query with corrected words."""
        self.was_widened = True
        tsquery, params = self._tsquery()
        like = _like(self.q)
        sql = f"{SKU_SQL} OR {SEARCH_VECTOR_SQL} @@ {tsquery} OR {NAME_SQL} ILIKE %s"
        condition_params: list[Any] = [self.q, *params, like]
        typo_sql, typo_params = self._corrected_tsquery()
        last_tier, last_params = "0", []
        if typo_sql:
            sql += f" OR {SEARCH_VECTOR_SQL} @@ {typo_sql}"
            condition_params += typo_params
            last_tier = f"ts_rank({SEARCH_VECTOR_SQL}, {typo_sql}, 32) * 0.999"
            last_params = typo_params
        relevance = (
            f"(CASE WHEN {SKU_SQL} THEN {SKU_RANK} WHEN {SEARCH_VECTOR_SQL} @@ {tsquery} "
            f"THEN 2 + ts_rank({SEARCH_VECTOR_SQL}, {tsquery}, 32) "
            f"WHEN {NAME_SQL} ILIKE %s THEN 1 ELSE {last_tier} END)::float8"
        )
        return Match(
            ProductSQL(sql, condition_params, BooleanField()),
            ProductSQL(relevance, [self.q, *params, *params, like, *last_params], FloatField()),
            widened=True,
        )

    def _tsquery(self) -> tuple[str, list[Any]]:
        """SQL for the tsquery of ``q`` and its parameters."""
        q = self.q
        prefix = _prefix_word(q)
        if prefix is None:
            return "websearch_to_tsquery('english', %s)", [q]
        head = q[: len(q) - len(prefix)]
        if head.strip():
            return (
                "(websearch_to_tsquery('english', %s) && %s::tsquery)",
                [head, self.prefix or ""],
            )
        return "%s::tsquery", [self.prefix or ""]

    def _corrected_tsquery(self) -> tuple[str, list[Any]]:
        """Every word ORed with its corrections, the last one as a prefix ("" if none)."""
        corrections = {
            word: [c for c in found if one_edit_apart(word, c)]
            for word, found in self.candidates.items()
        }
        if not any(corrections.values()):
            return "", []
        words = _WORD.findall(self.q.lower())
        prefix = _prefix_word(self.q)
        terms, params = [], []
        for i, word in enumerate(words):
            if i == len(words) - 1 and prefix is not None:
                alternatives, alt_params = ["%s::tsquery"], [self.prefix or ""]
            else:
                alternatives, alt_params = ["plainto_tsquery('english', %s)"], [word]
            for correction in corrections.get(word, []):
                alternatives.append("plainto_tsquery('english', %s)")
                alt_params.append(correction)
            terms.append("(" + " || ".join(alternatives) + ")")
            params += alt_params
        return "(" + " && ".join(terms) + ")", params


def one_edit_apart(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter inserted, deleted, replaced, or two adjacent
    letters swapped (the optimal string alignment distance is 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) > len(b):
        return a[i + 1 :] == b[i:]
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i + 1 :] or (
        a[i + 1 : i + 2] == b[i : i + 1]
        and a[i : i + 1] == b[i + 1 : i + 2]
        and a[i + 2 :] == b[i + 2 :]
    )


# The setup statement. Its first part sets the planner options (``set_config(..., true)``:
# they end with the transaction) and is materialised first: the dictionary look-ups depend
# on its row, so pg_trgm's threshold is set before its ``%`` runs. The prefix's stem is read
# back from ``to_tsquery`` itself, so stemming and stop words are PostgreSQL's; a prefix that
# is not one plain lexeme, or that begins no known lexeme or more than PREFIX_LEXEMES,
# stays GIN's prefix scan (the tsquery's own text). Parameters: the similarity threshold,
# the "word:*" text (or NULL), the words to correct.
SETUP_SQL = (  # constants only; every value is bound
    "WITH o AS MATERIALIZED (SELECT set_config('enable_seqscan', 'off', true) || "  # noqa: S608
    "set_config('enable_indexscan', 'off', true) || set_config('jit', 'off', true) || "
    f"set_config('work_mem', '{SEARCH_WORK_MEM}', true) || "
    f"set_config('random_page_cost', '{SEARCH_RANDOM_PAGE_COST}', true) || "
    "set_config('pg_trgm.similarity_threshold', %s, true) AS done), "
    "p AS (SELECT to_tsquery('english', %s) AS q FROM o), "
    r"s AS (SELECT substring(p.q::text FROM '^''([^''\\]+)'':\*$') AS stem FROM p), "
    f"x AS (SELECT l.lexeme FROM {SEARCH_LEXEMES_TABLE} l, s "
    "WHERE l.lexeme >= s.stem AND l.lexeme < s.stem || chr(1114111) "
    f"LIMIT {PREFIX_LEXEMES + 1}) "
    f"SELECT NULL, CASE WHEN (SELECT count(*) FROM x) BETWEEN 1 AND {PREFIX_LEXEMES} "
    r"THEN (SELECT string_agg('''' || replace(replace(x.lexeme, '\', '\\'), '''', '''''')"
    " || '''', ' | ' ORDER BY x.lexeme) FROM x) ELSE (SELECT p.q::text FROM p) END "
    "UNION ALL SELECT w.word, d.word FROM o, unnest(%s::text[]) AS w(word) "
    "CROSS JOIN LATERAL (SELECT c.word FROM "
    f"{SEARCH_WORDS_TABLE} c WHERE o.done IS NOT NULL AND c.word %% w.word "
    "AND c.word <> w.word ORDER BY similarity(c.word, w.word) DESC, c.word "
    f"LIMIT {CORRECTION_CANDIDATES}) d {PLAN_SETTING}"
)


@contextlib.contextmanager
def search_session(q: str) -> Iterator[SearchSession]:
    """A transaction for one search of ``q``, opened with its setup statement (PostgreSQL).

    The planner options: bitmap index scans, not scans that hope to stop early. The planner
    cannot see how much the conditions of a search overlap, so it expects more matches than
    there are; under a ``LIMIT`` (the capped count, the relevance window, a page), a
    sequential scan, or a walk of any index, that stops after enough matches then looks
    cheapest. For a word matching 1% of a million products that scan reads most of the
    table: 3.2 s, against 22 ms for the bitmap index scan, which reads the matches and no
    other row. JIT goes off with them: a disabled scan kind still costs 10^10 in the
    planner's sums (PostgreSQL's ``disable_cost``), which passes ``jit_above_cost`` and had
    every such query spend ~0.9 s compiling itself. The page of a search ordered by a column
    may still walk that column's index once the count shows the search is common
    (:meth:`SearchSession.walk_sort_index_if_common`).

    No savepoint: inside a caller's transaction the settings last until that one ends,
    which changes plans only, never results. Elsewhere: an inactive session, no statement.
    """
    if connection.vendor != "postgresql":
        yield SearchSession(q=q, active=False)
        return
    prefix = _prefix_word(q)
    words = (
        [w for w in _WORD.findall(q.lower()) if len(w) >= FUZZY_MIN_LENGTH]
        if _correctable(q)
        else []
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            SETUP_SQL,
            [str(CORRECTION_SIMILARITY), None if prefix is None else f"{prefix}:*", words],
        )
        session = SearchSession(q=q, active=True)
        for word, value in cursor.fetchall():
            if word is None:
                session.prefix = value
            else:
                session.candidates.setdefault(word, []).append(value)
        yield session


def _prefix_word(q: str) -> str | None:
    """The last word of ``q`` when it matches as a prefix: plain (not quoted, not negated,
    not the OR operator)."""
    match = _LAST_WORD.match(q)
    if (
        match
        and not match.group("head").rstrip().endswith(("-", '"'))
        and match.group("word").lower() != "or"
        and q.count('"') % 2 == 0
    ):
        return match.group("word")
    return None


def _correctable(q: str) -> bool:
    """Whether to look for corrections of ``q``'s words: plain words, no operators."""
    words = q.lower().split()
    return '"' not in q and "or" not in words and not any(word.startswith("-") for word in words)


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
