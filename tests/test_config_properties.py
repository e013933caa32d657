"""Generated configs and population CSVs: every document gets exit 0 or 2, never a traceback.

Hypothesis builds TOML documents from the quickstart (keys deleted, set to extreme or ill-typed
values, random extra keys and tables, plus text that is not TOML at all) and population CSVs
(missing, extra and repeated columns; numbers, NaN, infinities, text, empty fields; byte-order
marks, CRLF, quoting, bytes that are not UTF-8), and runs ``tailrisk validate-config`` on each.
An accepted config holds no NaN or infinity (``venue.capacity = inf``, unlimited, excepted), an
accepted CSV only accounts within the config's bounds; a fixed list of accepted one-key
mutations of the quickstart, shrunk to a tiny run, simulates with finite outputs on every path.
Hostile run names are refused before anything is written.

Example counts: the default profile keeps these tests to a few seconds each;
``TAILRISK_HYPOTHESIS_PROFILE=deep`` runs 2,500 documents of each kind. With ``-s`` each
property test prints how many documents it tried and how many were accepted.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailrisk import cli
from tailrisk.config import ConfigError, load_config, parse_config
from tailrisk.config._base import MAX_LEVERAGE, MAX_PRICE, MIN_LEVERAGE, MIN_PRICE
from tailrisk.config.models import StudentTModel
from tailrisk.config.run import RunConfig
from tailrisk.config.venue import MAX_QUANTITY, PopulationConfig, ProbeConfig, VenueConfig
from tailrisk.runner import run_dir_for, run_experiment
from tailrisk.venue import PopulationError, load_population_csv

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = tomllib.loads((REPO / "experiments" / "quickstart.toml").read_text())

_COMMON = {"deadline": None, "database": None, "derandomize": False,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("tailrisk-default", max_examples=150, **_COMMON)
settings.register_profile("tailrisk-deep", max_examples=2_500, **_COMMON)
PROFILE = settings.get_profile(
    f"tailrisk-{os.environ.get('TAILRISK_HYPOTHESIS_PROFILE', 'default')}"
)

#: documents tried and accepted per property, printed at the end of the module (``-s``)
STATS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_stats():
    yield
    if STATS:
        print("\n" + ", ".join(f"{k}: {v:,}" for k, v in sorted(STATS.items())))


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def assert_clean_exit(res):
    """Exit 0 or 2, and no traceback: a user's mistake never looks like a crash."""
    text = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert "Traceback" not in text, text
    assert res.exit_code in (0, 2), (res.exit_code, text, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception


# ----------------------------------------------------------------------------- TOML documents


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        # JSON's escapes are TOML's; TOML also wants DEL escaped
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007F")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}"
                               for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(doc: dict) -> str:
    """A TOML document of ``doc`` (every table inline, every key quoted)."""
    return "".join(f"{_toml_value(str(k))} = {_toml_value(v)}\n" for k, v in doc.items())


def _leaves(doc: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in doc.items():
        key = f"{prefix}{k}"
        out += _leaves(v, key + ".") if isinstance(v, dict) else [key]
    return out


#: every key of the quickstart and every field its tables know, plus whole tables
KEYS = sorted(
    set(_leaves(QUICKSTART))
    | {f"run.{k}" for k in RunConfig.model_fields}
    | {f"model.{k}" for k in StudentTModel.model_fields}
    | {"model.lam", "model.omega", "model.alpha", "model.scale"}
    | {f"venue.{k}" for k in VenueConfig.model_fields}
    | {f"venue.population.{k}" for k in PopulationConfig.model_fields}
    | {"venue.population.probes", "analysis.batches", "analysis.bootstrap", "sweep.grid",
       "sweep.grid.venue.fund", "run", "model", "venue", "venue.population", "analysis"}
)
SPECIAL = [-1, 0, 1, 1e-300, 1e308, 10**18, -10**18, math.nan, math.inf, -math.inf, True, "",
           "x", [], [1, 2], {}, {"name": "gbm"}, {"a": {"b": 1}}, "8h", "1e400d", "gbm",
           "../../escaped", [{"name": "p", "side": "long"}], [math.nan], 2**64]
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalar = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(),
    st.integers(-(2**70), 2**70),
    _text,
    st.booleans(),
)
_value = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=3)), max_leaves=8)
_mutation = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(KEYS)),
    st.tuples(st.just("set"), st.sampled_from(KEYS), _value),
    st.tuples(st.just("extra"), st.sampled_from(["", "run.", "model.", "venue.",
                                                  "venue.population.", "sweep."]),
              _text.filter(bool), _value),
)


def _set(doc: dict, key: str, value) -> None:
    *parents, last = key.split(".")
    node = doc
    for p in parents:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[last] = value


def _delete(doc: dict, key: str) -> None:
    *parents, last = key.split(".")
    node = doc
    for p in parents:
        node = node.get(p)
        if not isinstance(node, dict):
            return
    node.pop(last, None)


def mutate(mutations) -> dict:
    doc = json.loads(json.dumps(QUICKSTART))
    for m in mutations:
        if m[0] == "delete":
            _delete(doc, m[1])
        elif m[0] == "set":
            _set(doc, m[1], m[2])
        else:
            node = doc
            for p in filter(None, m[1].split(".")):
                node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else {}
            node[m[2]] = m[3]
    return doc


def _floats(obj, key=""):
    """(dotted key, value) of every float in a dumped config."""
    if isinstance(obj, float):
        yield key, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _floats(v, f"{key}.{k}" if key else str(k))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _floats(v, f"{key}[{i}]")


def assert_all_finite(exp) -> None:
    bad = [(k, v) for k, v in _floats(exp.model_dump())
           if not math.isfinite(v) and not (k == "venue.capacity" and v == math.inf)]
    assert not bad, bad


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("properties")


@PROFILE
@given(mutations=st.lists(_mutation, min_size=1, max_size=3))
def test_generated_configs_exit_0_or_2_and_accept_only_finite_numbers(workdir, mutations):
    path = workdir / "generated.toml"
    path.write_text(to_toml(mutate(mutations)), encoding="utf-8")
    res = invoke("validate-config", path)
    assert_clean_exit(res)
    STATS["configs tried"] += 1
    if res.exit_code == 0:
        STATS["configs accepted"] += 1
        assert_all_finite(load_config(path))


@PROFILE
@given(text=st.one_of(_text, st.text(max_size=200).map(lambda t: "[run]\n" + t)))
def test_any_text_exits_0_or_2(workdir, text):
    path = workdir / "text.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert_clean_exit(invoke("validate-config", path))
    STATS["texts tried"] += 1


def test_each_one_key_mutation_of_the_quickstart_is_clean():
    """The issue's sweep, exhaustively: each key deleted or set to each special value."""
    tried = accepted = 0
    for key in KEYS:
        for m in [("delete", key), *(("set", key, v) for v in SPECIAL)]:
            doc = mutate([m])
            try:
                exp = parse_config(doc, "mutation")
            except ConfigError as err:
                assert err.problems and all(isinstance(p, str) and p for p in err.problems)
            else:
                accepted += 1
                assert_all_finite(exp)
            tried += 1
    STATS["one-key mutations tried"] += tried
    STATS["one-key mutations accepted"] += accepted


# ----------------------------------------------------------------------------- tiny runs

#: accepted one-key mutations at the edges of their bounds (each is checked to be accepted)
EDGES = [
    ("model.s0", 1e-8), ("model.s0", 1e12), ("model.sigma", 10.0), ("model.sigma", 1e-300),
    ("model.mu", 10.0), ("model.nu", 1e6), ("run.dt", 1.0), ("venue.eta", 10.0),
    ("venue.depth", 1.0), ("venue.beta_impact", 0.1), ("venue.beta_impact", 10.0),
    ("venue.capacity", 1e-300), ("venue.fund", 0.0), ("venue.capital", 1e18),
    ("venue.fee", 0.999), ("venue.population.size_median_usd", 1e12),
    ("venue.population.size_sigma", 5.0), ("venue.population.entry_vol", 10.0),
]


def tiny(doc: dict) -> dict:
    """The quickstart at tests/test_cli.py's small size: the same kernel programs, which the
    session's compile cache shares between the two modules."""
    doc["run"].update(paths=300, chunk_size=100, steps=12)
    return doc


def test_accepted_edge_configs_simulate_with_finite_outputs(tmp_path):
    """Shapes and static settings are test_cli's (a finite capacity adds one program)."""
    for key, value in EDGES:
        exp = parse_config(tiny(mutate([("set", key, value)])), f"{key} = {value}")
        result = run_experiment(exp, tmp_path / "runs", progress=False)
        arrays = {**result.per_path, **(result.venue or {})}
        bad = {k: int((~np.isfinite(a)).sum()) for k, a in arrays.items()
               if np.asarray(a).dtype.kind == "f" and not np.isfinite(a).all()}
        assert not bad, (key, value, bad)


# ----------------------------------------------------------------------------- population CSVs

COLUMNS = ["side", "quantity", "entry", "leverage", "mmr", "exempt", "recourse", "cohort", "cap",
           "id"]
_cell = st.one_of(
    st.sampled_from(["long", "short", "LONG", "1", "0", "-1", "nan", "inf", "-inf", "", "1e308",
                     "1e-300", "1e400", "abc", "true", "yes", "  2 ", "1,5", "0x10", "1_000",
                     "100000", "10", "0.5", "\x00", '"', "\n"]),
    st.floats().map(repr),
    st.integers(-(10**20), 10**20).map(str),
    _text,
)
_header = st.one_of(
    st.permutations(COLUMNS[:4]),
    st.lists(st.sampled_from([*COLUMNS, "extra", "", " side ", "SIDE", "side"]), max_size=10),
)


#: values each column accepts (numbers anywhere in their bounds, as text in several spellings)
#: numbers just past (or at) one column's bounds or another's
_EDGE_NUMBERS = st.sampled_from(["0", "-0", "-1", "1e-9", "0.009", "1", "0.99", "1.0", "1000",
                                 "1000.5", "1e12", "1.1e12", "1e15", "1.1e15", "1e308"])
_GOOD = {
    "side": st.sampled_from(["long", "short", "LONG", " short "]),
    "quantity": st.floats(1e-12, 1e15).map(repr),
    "entry": st.one_of(st.floats(1e-8, 1e12).map(repr), st.integers(1, 10**12).map(str)),
    "leverage": st.floats(0.01, 1000).map(lambda x: f"{x:.6g}"),
    "mmr": st.one_of(st.just(""), st.floats(0, 0.99).map(repr)),
    "exempt": st.sampled_from(["", "true", "false", "1", "0", "yes", "no"]),
    "recourse": st.sampled_from(["", "true", "false", "1", "0", "yes", "no"]),
    "cohort": st.text("abc xyz", max_size=5),
    "cap": st.one_of(st.just(""), st.floats(0, 1).map(repr)),
    "id": st.text("abcdef0123", min_size=1, max_size=6),
}


def _csv_field(text: str, quote: bool) -> str:
    if quote or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


@st.composite
def population_csv(draw) -> bytes:
    if draw(st.booleans()):  # a good file, perhaps with one bad cell
        optional = draw(st.lists(st.sampled_from(COLUMNS[4:]), unique=True))
        header = draw(st.permutations([*COLUMNS[:4], *optional]))
        rows = [[draw(_GOOD[c]) for c in header] for _ in range(draw(st.integers(1, 6)))]
        if draw(st.booleans()):
            row = draw(st.sampled_from(rows))
            row[draw(st.integers(0, len(row) - 1))] = draw(st.one_of(_EDGE_NUMBERS, _cell))
    else:
        header = list(draw(_header))
        width = len(header)
        rows = draw(st.lists(st.lists(_cell, min_size=max(width - 1, 0), max_size=width + 1),
                             max_size=6))
    quote = draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(_csv_field(c, quote) for c in line) for line in [header, *rows]]
    data = (newline.join(lines) + draw(st.sampled_from(["", newline]))).encode("utf-8",
                                                                              "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0:
        data += draw(st.binary(max_size=8))
    return data


def _csv_config(workdir: Path, csv_path: Path) -> Path:
    doc = tiny(json.loads(json.dumps(QUICKSTART)))
    doc["venue"]["population"]["csv"] = str(csv_path)
    path = workdir / "with_csv.toml"
    path.write_text(to_toml(doc), encoding="utf-8")
    return path


@PROFILE
@given(data=population_csv())
def test_generated_population_csvs_exit_0_or_2(workdir, data):
    csv_path = workdir / "population.csv"
    csv_path.write_bytes(data)
    res = invoke("validate-config", _csv_config(workdir, csv_path))
    assert_clean_exit(res)
    STATS["CSVs tried"] += 1
    if res.exit_code == 0:
        STATS["CSVs accepted"] += 1
        acc = load_population_csv(csv_path, PopulationConfig(), 100_000.0)
        for name in ("quantity", "entry", "leverage", "mmr", "cap"):
            assert np.isfinite(getattr(acc, name)).all(), name
        assert ((acc.quantity > 0) & (acc.quantity <= MAX_QUANTITY)).all()
        assert ((acc.entry >= MIN_PRICE) & (acc.entry <= MAX_PRICE)).all()
        assert ((acc.leverage >= MIN_LEVERAGE) & (acc.leverage <= MAX_LEVERAGE)).all()
        assert ((acc.mmr >= 0) & (acc.mmr < 1)).all() and ((acc.cap >= 0) & (acc.cap <= 1)).all()
        assert set(np.unique(acc.side)) <= {-1, 1}


#: column: (lowest, highest, lowest allowed, highest allowed)
CSV_BOUNDS = {
    "quantity": (0.0, MAX_QUANTITY, False, True),
    "entry": (MIN_PRICE, MAX_PRICE, True, True),
    "leverage": (MIN_LEVERAGE, MAX_LEVERAGE, True, True),
    "mmr": (0.0, 1.0, True, False),
    "cap": (0.0, 1.0, True, True),
}


@PROFILE
@given(column=st.sampled_from(sorted(CSV_BOUNDS)),
       value=st.one_of(st.floats(), st.sampled_from([v for b in CSV_BOUNDS.values()
                                                       for v in b[:2]])))
def test_a_csv_number_is_accepted_exactly_within_its_bounds(workdir, column, value):
    lo, hi, lo_in, hi_in = CSV_BOUNDS[column]
    row = {"side": "long", "quantity": "1", "entry": "100", "leverage": "10", "mmr": "",
           "cap": "", column: repr(value)}
    path = workdir / "one_row.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    inside = (value >= lo if lo_in else value > lo) and (value <= hi if hi_in else value < hi)
    try:
        load_population_csv(path, PopulationConfig(), 100_000.0)
    except PopulationError as err:
        assert not inside, str(err)
        assert column in str(err)
    else:
        assert inside, (column, value)


def test_csv_gaps_are_clear_errors(tmp_path):
    cases = {
        "bom.csv": (b"\xef\xbb\xbfside,quantity,entry,leverage\r\nlong,1,100,10\r\n", None),
        "latin1.csv": ("side,quantity,entry,leverage\nlong,1,100,10 \xe9\n".encode("latin-1"),
                       "not a UTF-8 text file"),
        "nul.csv": (b"side,quantity,entry,leverage\nlong,1,100,1\x000\n", "is not a number"),
        "twice.csv": (b"side,quantity,entry,leverage,leverage\nlong,1,100,10,5\n",
                      "given twice: leverage"),
        "extra.csv": (b"side,quantity,entry,leverage,mrr\nlong,1,100,10,0.1\n",
                      "unknown column(s) 'mrr'"),
        "ids.csv": (b"side,quantity,entry,leverage,id\nlong,1,100,10,a\nshort,1,100,10,a\n",
                    "id = 'a' is also row 1's"),
        "huge.csv": (b"side,quantity,entry,leverage\nlong,1e16,100,10\n",
                     "quantity = '1e16' is outside (0, 1e+15] contracts"),
        "lev.csv": (b"side,quantity,entry,leverage\nlong,1,100,1e4\n", "leverage = '1e4'"),
    }
    for name, (data, fragment) in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        res = invoke("validate-config", _csv_config(tmp_path, f))
        assert_clean_exit(res)
        if fragment is None:
            assert res.exit_code == 0, res.output
        else:
            assert res.exit_code == 2 and fragment in res.output, (name, res.output)


# ----------------------------------------------------------------------------- run names

HOSTILE_NAMES = ["..", "../x", "../../escaped", "/abs", "a/b", "a\\b", ".", "nul\x00", "x" * 1000,
                 "a\u2215b", "a\u2044b", "a\uff0fb", "", "name\n", " lead", "~", "C:x"]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_run_names_are_refused_and_nothing_is_written(tmp_path, name):
    box = tmp_path / "box"
    out = box / "runs" / "deep"
    out.mkdir(parents=True)
    doc = tiny(json.loads(json.dumps(QUICKSTART)))
    doc["run"]["name"] = name
    config = box / "hostile.toml"
    config.write_text(to_toml(doc), encoding="utf-8")
    before = _tree(tmp_path)
    for args in (("validate-config", config), ("run", config, "--out", out)):
        res = invoke(*args)
        assert_clean_exit(res)
        assert res.exit_code == 2 and "run.name" in res.output, res.output
    assert _tree(tmp_path) == before


def test_run_dir_for_refuses_a_folder_outside_out(tmp_path):
    exp = parse_config(tiny(json.loads(json.dumps(QUICKSTART))))
    out = tmp_path / "out"
    out.mkdir()
    assert run_dir_for(exp, out).parent == out
    sneaky = exp.model_copy(update={"run": exp.run.model_copy(update={"name": "../../x"})})
    with pytest.raises(ConfigError, match="would not be a folder of --out"):
        run_dir_for(sneaky, out)
    # a link in --out under the run folder's name points elsewhere
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run_dir_for(exp, out).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ConfigError, match="would not be a folder of --out"):
        run_dir_for(exp, out)


def test_probe_and_capacity_bounds():
    assert VenueConfig(capacity=math.inf).capacity == math.inf  # documented: unlimited
    for bad in ({"capacity": math.nan}, {"capacity": -math.inf}, {"fund": math.inf},
                {"eta": 1e308}, {"depth": 0.5}):
        with pytest.raises(ValueError):
            VenueConfig(**bad)
    with pytest.raises(ValueError):
        ProbeConfig(name="p", side="long", quantity=math.inf)
