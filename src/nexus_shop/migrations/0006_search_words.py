"""Two small dictionaries of the catalogue's words, for search on PostgreSQL; no-ops elsewhere.

- ``nexus_shop_search_word``: every distinct word of every product name
  (``to_tsvector('simple', name)``: lower-cased, unstemmed), with a trigram index. A search
  that matches few products looks up the words of its query there: a dictionary of a few
  thousand to a few hundred thousand rows answers "which known words are one edit away from
  'headphnes'" in about a millisecond, where a trigram similarity test on the names
  themselves re-checks every name that shares letters with the query (hundreds of
  milliseconds on a million products).
- ``nexus_shop_search_lexeme``: every distinct lexeme of every product's search vector
  (name and description, stemmed), in byte order. A prefix ("wireless head") becomes the
  known lexemes that start with it, looked up as exact lexemes in the vector's GIN index:
  a third of the cost of GIN's own prefix scan per matching row (6 ms against 19 ms for
  the 57,000 products of one common prefix, measured on a million).

Statement-level triggers keep both current: every INSERT (services, the admin,
``bulk_create``, the seed command's COPY, raw SQL) and every UPDATE that changes a name or a
search vector adds the new words, once per statement, from the statement's transition
tables. A word whose last product is renamed or deleted stays: it can only be offered as a
correction or a prefix expansion that then matches nothing.

The words of existing products are added in batches of ``BATCH`` ids, each its own short
transaction, as migration 0004 does for the vector, so running this on a big catalogue
holds no long lock; running it again picks up where it stopped.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 50_000

# The words of a name (the {rows} alias's), as the trigger and the backfill extract them.
WORDS_OF = "unnest(tsvector_to_array(to_tsvector('simple'::regconfig, coalesce({rows}.name, ''))))"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS nexus_shop_search_word (
    word text PRIMARY KEY
)
"""
INDEX = (
    "CREATE INDEX IF NOT EXISTS nexus_shop_search_word_trgm_idx "
    "ON nexus_shop_search_word USING gin (word gin_trgm_ops)"
)
# Byte order ("C"): a prefix is one range of the primary key.
CREATE_LEXEME_TABLE = """
CREATE TABLE IF NOT EXISTS nexus_shop_search_lexeme (
    lexeme text COLLATE "C" PRIMARY KEY
)
"""
LEXEMES_OF = "unnest(tsvector_to_array({rows}.search_vector))"

# ORDER BY: concurrent writers insert shared new words in one order, so they cannot deadlock.
INSERT_WORDS = (
    "INSERT INTO nexus_shop_search_word (word) "
    "SELECT DISTINCT word FROM (SELECT {words} AS word FROM {source}) w "
    "WHERE length(word) >= 3 ORDER BY word ON CONFLICT DO NOTHING"
)
INSERT_LEXEMES = (
    "INSERT INTO nexus_shop_search_lexeme (lexeme) "
    "SELECT DISTINCT lexeme FROM (SELECT {lexemes} AS lexeme FROM {source}) x "
    "ORDER BY lexeme ON CONFLICT DO NOTHING"
)

_NEW = "new_rows n"
_CHANGED = "new_rows n JOIN old_rows o ON o.id = n.id WHERE n.{column} IS DISTINCT FROM o.{column}"
TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION nexus_shop_product_search_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {INSERT_WORDS.format(words=WORDS_OF.format(rows="n"), source=_NEW)};
        {INSERT_LEXEMES.format(lexemes=LEXEMES_OF.format(rows="n"), source=_NEW)};
    ELSE
        {
    INSERT_WORDS.format(words=WORDS_OF.format(rows="n"), source=_CHANGED.format(column="name"))
};
        {
    INSERT_LEXEMES.format(
        lexemes=LEXEMES_OF.format(rows="n"), source=_CHANGED.format(column="search_vector")
    )
};
    END IF;
    RETURN NULL;
END
$$
"""

# Transition tables cannot go with a column list (UPDATE OF name), so the UPDATE trigger
# fires for every UPDATE statement and compares old and new names itself: a stock or price
# update costs one join of its own rows and inserts nothing.
INSERT_TRIGGER = """
CREATE OR REPLACE TRIGGER nexus_shop_product_search_words_insert
AFTER INSERT ON nexus_shop_product REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION nexus_shop_product_search_words()
"""
UPDATE_TRIGGER = """
CREATE OR REPLACE TRIGGER nexus_shop_product_search_words_update
AFTER UPDATE ON nexus_shop_product REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION nexus_shop_product_search_words()
"""

_BATCH_OF = "nexus_shop_product p WHERE p.id >= %s AND p.id < %s"
BACKFILL = [  # constant SQL; the id bounds are bound parameters
    INSERT_WORDS.format(words=WORDS_OF.format(rows="p"), source=_BATCH_OF),
    INSERT_LEXEMES.format(lexemes=LEXEMES_OF.format(rows="p"), source=_BATCH_OF),
]


def forwards(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)
        cursor.execute(INDEX)
        cursor.execute(CREATE_LEXEME_TABLE)
        cursor.execute(TRIGGER_FUNCTION)
        cursor.execute(INSERT_TRIGGER)
        cursor.execute(UPDATE_TRIGGER)
        cursor.execute("SELECT min(id), max(id) FROM nexus_shop_product")
        low, high = cursor.fetchone()
        if low is not None:
            for start in range(low, high + 1, BATCH):
                for backfill in BACKFILL:
                    cursor.execute(backfill, [start, start + BATCH])
        cursor.execute("ANALYZE nexus_shop_search_word")
        cursor.execute("ANALYZE nexus_shop_search_lexeme")


def backwards(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for trigger in ("insert", "update"):
            cursor.execute(
                f"DROP TRIGGER IF EXISTS nexus_shop_product_search_words_{trigger} "
                "ON nexus_shop_product"
            )
        cursor.execute("DROP FUNCTION IF EXISTS nexus_shop_product_search_words()")
        cursor.execute("DROP TABLE IF EXISTS nexus_shop_search_word")
        cursor.execute("DROP TABLE IF EXISTS nexus_shop_search_lexeme")


class Migration(migrations.Migration):
    # The backfill commits batch by batch (see the module docstring).
    atomic = False

    dependencies = [("nexus_shop", "0005_purchase_path")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
