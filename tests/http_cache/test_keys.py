"""The response cache's keys against the schemas, as django-ninja reads them.

The property tests feed the same random query strings to ninja (the operation's own
``Query`` model, resolved from a request as a view would get it) and to the cache's key
builder. They iterate each schema's ``model_fields``, so a field that the key leaves out,
or a filter added to a schema, fails here rather than answering from the wrong page.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory, override_settings
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from ninja.params.models import QueryModel
from ninja.signature.details import is_collection_type
from pydantic import BaseModel, Field, ValidationError
from pydantic.fields import FieldInfo

from nexus_shop.api import api as ninja_api
from nexus_shop.http_cache import keys
from nexus_shop.http_cache.engine import MEMO_SIZE, get_engine
from nexus_shop.http_cache.reads import READS, Read, ReadKind
from nexus_shop.routers.catalog import router
from nexus_shop.schemas.catalog import ProductFilter
from nexus_shop.schemas.params import QUERY_DEFAULTS, default_of
from tests.factories import ProductFactory

# No deadline (a wall-clock bound a busy CI fails) and no example database on disk.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

Pairs = list[tuple[str, str]]


# ninja's side ---------------------------------------------------------------------------------


def _operation(read: Read) -> Any:
    for view in router.path_operations.values():
        for operation in view.operations:
            if operation.url_name == read.url_name:
                return operation
    raise LookupError(read.url_name)


def _query_models(read: Read) -> list[type[QueryModel]]:
    return [m for m in _operation(read).models if issubclass(m, QueryModel)]


def ninja_params(read: Read, query: str) -> BaseModel | None:
    """What the view gets for ``?query``, as ninja resolves it; ``None`` for ninja's 422."""
    (model,) = _query_models(read)
    request = RequestFactory().get("/api/x?" + query)
    try:
        resolved = model.resolve(request, ninja_api, {})
    except ValidationError:
        return None
    (name,) = type(resolved).model_fields
    value: BaseModel = getattr(resolved, name)
    return value


def key(read: Read, query: str) -> str | None:
    return keys.cache_key(kind=read.kind, ident="1", scheme="https", query_string=query)


# Query strings drawn from a schema's fields ---------------------------------------------------


def _core(annotation: Any) -> Any:
    """The type under ``Annotated`` and ``| None``."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _core(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return _core(next(a for a in get_args(annotation) if a is not type(None)))
    if origin in (list, set, tuple):
        return _core(get_args(annotation)[0])
    return annotation


def _bound(info: FieldInfo, name: str) -> Any:
    return next((getattr(m, name) for m in info.metadata if hasattr(m, name)), None)


def valid_values(info: FieldInfo) -> st.SearchStrategy[str]:
    """Values of the field's type, as a query string spells them (mostly valid)."""
    core = _core(info.annotation)
    if get_origin(info.annotation) is list and core is str:
        # option=<name>:<value>: names and values in any case, values with colons.
        names = st.sampled_from(["size", "Size", "SIZE", " colour", "Colour "])
        values = st.sampled_from(["m", "M", " m", "red", "RED", "a:b", "A:B"])
        return st.builds("{}:{}".format, names, values)
    if get_origin(core) is Literal:
        return st.sampled_from([str(choice) for choice in get_args(core)])
    if core is bool:
        return st.sampled_from(["true", "false", "1", "0", "yes", "off", "True"])
    if core is int:
        low = _bound(info, "ge") or 0
        high = _bound(info, "le") or low + 50
        return st.integers(min_value=low, max_value=min(high, low + 50)).map(str)
    if core is Decimal:
        whole = st.integers(min_value=0, max_value=30)
        form = st.sampled_from(["{}", "{}.0", "{}.00", "{}.5", "{}.50"])
        return st.builds(lambda n, f: f.format(n), whole, form)
    if core is str:
        high = _bound(info, "max_length") or 50
        return st.text(alphabet="ab -", min_size=1, max_size=min(high, 4))
    raise AssertionError(f"no value strategy for {info.annotation!r}: add one here")


def any_values(info: FieldInfo) -> st.SearchStrategy[str]:
    """Valid values, invalid ones, and edge cases of any field."""
    junk = st.sampled_from(["", " ", "-1", "0", "x", "1e3", "null", "5.001", "a" * 201, "%"])
    return st.one_of(valid_values(info), junk, st.text(alphabet="ab01.-_ ", max_size=5))


def _spelled(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@st.composite
def queries(draw: st.DrawFn, schema: type[BaseModel]) -> Pairs:
    """A query string's pairs: the schema's fields, repeats, unknown keys, defaults."""
    fields = schema.model_fields
    name = st.sampled_from([*fields, "utm_source", "x", "Page"])
    pairs: Pairs = []
    for key_name in draw(st.lists(name, max_size=5)):
        info = fields.get(key_name)
        value = draw(any_values(info) if info else st.text(alphabet="ab1", max_size=3))
        pairs.append((key_name, value))
    for default_name in draw(st.sets(st.sampled_from([*QUERY_DEFAULTS]))):
        if default_name in fields:  # a default spelled out
            pairs.append((default_name, _spelled(default_of(default_name))))
    return draw(st.permutations(pairs))


@st.composite
def query_pairs(draw: st.DrawFn, schema: type[BaseModel]) -> tuple[Pairs, Pairs]:
    """Two queries, often the same request spelled differently."""
    first = draw(queries(schema))
    second = draw(
        st.one_of(
            queries(schema),
            st.permutations(first),
            st.builds(lambda extra: [*first, *extra], queries(schema)),
            st.just([p for p in first if p[0] in schema.model_fields]),
        )
    )
    return first, second


CACHED_WITH_PARAMS = [read for read in READS.values() if read.params is not None]
IDS = [read.kind.value for read in CACHED_WITH_PARAMS]


def _fields(read: Read) -> list[str]:
    return list(read.params.model_fields) if read.params is not None else []


@pytest.mark.parametrize("read", CACHED_WITH_PARAMS, ids=IDS)
def test_equal_keys_mean_equal_validated_parameters(read: Read) -> None:
    assert read.params is not None

    @PROPERTY
    @given(pair=query_pairs(read.params))
    def check(pair: tuple[Pairs, Pairs]) -> None:
        answers = []
        for pairs in pair:
            query = urlencode(pairs)
            found, params = key(read, query), ninja_params(read, query)
            # Never a key for what ninja refuses (422), and always one for a plain request.
            if params is None:
                assert found is None, query
            elif len({name for name, _ in pairs}) == len(pairs):
                assert found is not None, query
            answers.append((found, params))
        (key1, params1), (key2, params2) = answers
        if key1 is not None and key1 == key2:
            assert params1 is not None
            assert params2 is not None
            assert params1.model_dump() == params2.model_dump()

    check()


FIELDS = [(read, field) for read in CACHED_WITH_PARAMS for field in _fields(read)]


@pytest.mark.parametrize(("read", "field"), FIELDS, ids=[f"{r.kind}-{f}" for r, f in FIELDS])
def test_every_schema_field_is_part_of_the_key(read: Read, field: str) -> None:
    """Two requests that differ in ``field`` alone, and that ninja answers differently."""
    assert read.params is not None
    value = valid_values(read.params.model_fields[field])

    def differ(pair: tuple[str, str]) -> bool:
        first, second = (ninja_params(read, urlencode({field: v})) for v in pair)
        return first is not None and second is not None and first != second

    pair = find(st.tuples(value, value), differ, settings=settings(database=None))
    first, second = (key(read, urlencode({field: v})) for v in pair)
    assert first is not None
    assert first != second, f"{field} is not part of the key: {pair}"


def test_a_read_without_query_parameters_ignores_the_query() -> None:
    """Every cached read has a query schema today (the category detail gained
    ``include_deleted``); one declared without (``params=None``, an operation that reads no
    query parameter) keys every query string alike, as ninja then ignores them."""
    bare = keys.Keyer(replace(READS[ReadKind.CATEGORY_DETAIL], params=None))
    assert bare.values({}) == bare.values({"page": ["3"], "x": ["1"]}) == ()
    assert bare.validate({"page": ["3"]}) is None


def test_defaults_are_applied_before_keying() -> None:
    read = READS[ReadKind.PRODUCT_LIST]
    plain = key(read, "")
    assert plain is not None
    assert key(read, "page=1") == plain
    assert key(read, "page_size=20&ordering=-created_at&include_deleted=false") == plain
    with override_settings(NEXUS_SHOP_DEFAULT_PAGE_SIZE=7):  # read when asked
        assert key(read, "page_size=7") == key(read, "")
        assert key(read, "page_size=20") != key(read, "")


def test_what_stands_by() -> None:
    read = READS[ReadKind.PRODUCT_LIST]
    assert key(read, "page=2&page=3") is None  # a repeated scalar: ninja takes the last
    assert key(read, "q=caf\u00e9") is None  # not percent-encoded
    assert key(read, "q=%00") is None
    assert key(read, "page=0") is None  # ninja's 422
    assert key(read, "q=caf%C3%A9") is not None


# A filter added to a schema -------------------------------------------------------------------


class WithColour(ProductFilter):
    colour: str | None = Field(None, max_length=20)


@pytest.fixture
def with_colour(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str | None]:
    """The product list declared with a schema that has one more filter."""
    read = replace(READS[ReadKind.PRODUCT_LIST], params=WithColour)
    monkeypatch.setitem(keys._KEYERS, ReadKind.PRODUCT_LIST, keys.Keyer(read))
    return lambda query: key(read, query)


def test_a_new_filter_is_part_of_the_key_with_nothing_else_to_update(
    with_colour: Callable[[str], str | None],
) -> None:
    old = keys.Keyer(READS[ReadKind.PRODUCT_LIST])  # the schema without the filter
    assert old.values({"colour": ["red"]}) == old.values({})  # unknown to it, as to ninja
    assert with_colour("colour=red") != with_colour("")
    assert with_colour("colour=red") != with_colour("colour=blue")
    assert with_colour("colour=" + "r" * 21) is None  # its bounds are the schema's


@pytest.mark.django_db
def test_the_unfiltered_page_is_never_served_for_a_new_filter(
    with_colour: Callable[[str], str | None],
) -> None:
    ProductFactory()
    middleware = ["nexus_shop.http_cache.ResponseCacheMiddleware", *django_settings.MIDDLEWARE]
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default", MIDDLEWARE=middleware):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        anon = Client()
        assert anon.get("/api/products")["X-Response-Cache"] == "miss"
        assert anon.get("/api/products")["X-Response-Cache"] == "hit"
        assert anon.get("/api/products?colour=red")["X-Response-Cache"] == "miss"


# The declarations against the router ----------------------------------------------------------


@pytest.mark.parametrize("read", READS.values(), ids=[kind.value for kind in READS])
def test_each_declaration_is_its_operation(read: Read) -> None:
    operation = _operation(read)
    assert operation.operation_id == read.operation_id
    assert operation.methods == ["GET"]
    models = _query_models(read)
    schema = read.params
    if schema is None:
        assert models == []
    else:
        (model,) = models
        fields = schema.model_fields
        (field,) = model.model_fields.values()
        assert field.annotation is schema  # the very class the router takes
        flat: dict[str, tuple[str, ...]] = getattr(model, "__ninja_flatten_map__")  # noqa: B009  # ninja's own attribute
        assert set(flat) == set(fields)
        list_fields = {n for n, f in fields.items() if is_collection_type(f.annotation)}
        assert set(getattr(model, "__ninja_collection_fields__", [])) == list_fields
    path_names = {name for m in operation.models for name in m.model_fields}
    if read.path_param is not None:
        assert read.path_param in path_names


def test_every_cached_get_of_the_catalogue_is_declared() -> None:
    """The catalogue's anonymous GETs that mark themselves public are exactly READS."""
    public = {
        operation.url_name
        for view in router.path_operations.values()
        for operation in view.operations
        if operation.methods == ["GET"]
        and "mark_public_read" in operation.view_func.__code__.co_names
    }
    assert public == {kind.value for kind in READS}


def test_the_engine_remembers_keys_until_the_settings_change() -> None:
    def lookup(query: str) -> str:
        engine = get_engine()
        assert engine is not None
        found = engine.classify(path="/api/products", query_string=query, headers={}, scheme="http")
        assert found is not None
        return found.key

    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        plain = lookup("")
        assert lookup("") == plain
        assert engine._memo_values.cache_info().hits == 1  # validated once
        assert lookup("page_size=20") == plain
        assert lookup("utm=" + "x" * 300) == plain  # too long to remember: computed
        with override_settings(NEXUS_SHOP_DEFAULT_PAGE_SIZE=7):
            assert get_engine() is not engine
            assert lookup("page_size=20") != lookup("")
            assert lookup("page_size=7") == lookup("")


def _key(path: str, query: str = "", scheme: str = "http") -> str:
    engine = get_engine()
    assert engine is not None
    found = engine.classify(path=path, query_string=query, headers={}, scheme=scheme)
    assert found is not None
    return found.key


def test_detail_reads_of_many_ids_do_not_push_list_keys_out_of_the_memo() -> None:
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        memo = engine._memo_values
        hot = _key("/api/products", "page_size=20")
        details = {_key(f"/api/products/{pk}") for pk in range(1, MEMO_SIZE + 50)}
        assert len(details) == MEMO_SIZE + 49  # the id is in every key, after the memo
        assert _key("/api/products/1", scheme="https") != _key("/api/products/1")  # the scheme too
        assert memo.cache_info().currsize == 2  # one slot for the list, one for the details
        assert memo.cache_info().maxsize == MEMO_SIZE  # still bounded
        misses = memo.cache_info().misses
        assert _key("/api/products", "page_size=20") == hot
        assert memo.cache_info().misses == misses  # still remembered


def test_any_setting_change_empties_the_memo_even_if_the_engine_stays() -> None:
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        _key("/api/products", "page_size=20")
        assert engine._memo_values.cache_info().currsize == 1
        with override_settings(USE_THOUSAND_SEPARATOR=True):  # not a setting the engine reads
            assert get_engine() is engine
            assert engine._memo_values.cache_info().currsize == 0


# option= (issue 17) ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ReadKind.PRODUCT_LIST, ReadKind.PRODUCT_FACETS])
def test_option_filters_key_in_their_canonical_form(kind: ReadKind) -> None:
    def of(query: str) -> str | None:
        return keys.cache_key(kind=kind, ident="", scheme="https", query_string=query)

    canonical = of("option=size:m&option=colour:red")
    assert canonical is not None
    assert of("option=Size:M&option=COLOUR:Red") == canonical  # casefolded
    assert of("option=colour:red&option=size:m") == canonical  # order means nothing
    assert of("option=size:m&option=colour:red&option=SIZE:m") == canonical  # nor repeats
    assert of("option=size:%20m&option=colour%20:red") == canonical  # nor spaces
    assert of("") != canonical
    assert of("option=size:m") != canonical
    assert of("option=size:m:l") != of("option=size:m")  # split on the first colon only
    # What the schema refuses is not keyed (Django answers the 422).
    assert of("option=size") is None
    assert of("&".join(f"option=size:{i}" for i in range(11))) is None
