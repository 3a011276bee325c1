"""Secret redaction: secret names by whole words, the nets in text and in code, the run's
registry of remembered values, tables, binary payloads, and the opposite promise: innocent code
and binary data come back byte for byte."""

from __future__ import annotations

import base64
import string

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtrack.core.redact import MASK, Redactor, is_secret_name

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# values with no known token shape: only the name they are found under says they are secret
PLAIN = "maple harbor"
PLAIN2 = "orchid7lantern"


@pytest.mark.parametrize("name", [
    "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "api_key", "OPENAI_API_KEY", "HF_TOKEN", "client_secret",
    "KEY", "MY_PASSWD", "AZURE_STORAGE_SAS", "DB_PASS", "DB_PWD", "PASSPHRASE", "GOOGLE_APPLICATION_CREDENTIALS",
    "PRIVATE_KEY", "apiKey", "dbPassword", "accesstoken", "session_id", "x-api-key", "db.password", "SMTP_PASSCODE",
])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "PATH", "HOME", "PWD", "OLDPWD", "LANG", "PYTHONHASHSEED", "KEYBOARD_LAYOUT", "MONKEY", "OMP_NUM_THREADS",
    "TOKENIZERS_PARALLELISM", "Authors", "keyboard", "monkey", "tokenizer", "compass", "bypass", "passenger",
    "secretary", "turkey", "key_size", "max_tokens", "pad_token", "primary_key", "password_length", "TOKEN_URL",
    "SSH_AUTH_SOCK", "keynote", "passage",
])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET),
        (f"the key is {AWS_SECRET}.", AWS_SECRET),
        ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("postgres://admin:Hunter2Hunter2@db:5432/x", "Hunter2Hunter2"),
        (
            "clone https://ghp_0123456789abcdefghijklmnopqrstuvwxyzAB@github.com/o/r",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        ),
        ("Authorization: Bearer abc.def.ghijklmnopqrstuvwx", "ghijklmnopqrstuvwx"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "dozjgNryP4J3",
        ),
        ('{"password": "CorrectHorse"}', "CorrectHorse"),
        ("password=hunter2x", "hunter2x"),
        ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890"),
        ("openai sk-proj-abc123defghijklmnopqrstu", "sk-proj-abc123def"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
        ("curl 'https://api.x.com/v1?api_key=abcd1234efgh&q=1'", "abcd1234efgh"),
        # no token shape: found by the name only
        (f'{{"db_password": "{PLAIN}"}}', PLAIN),
        (f"DB_PASS={PLAIN2}", PLAIN2),
        (f"PRIVATE_KEY: {PLAIN2}", PLAIN2),
        (f'    "smtp_passphrase = \\"{PLAIN}\\"\\n",', PLAIN),  # a source line inside a notebook's JSON (git diff)
        (f"token {PLAIN2}", PLAIN2),  # `token <credential>` of 10+ characters
        ("token q8ZrT2mWx1", "q8ZrT2mWx1"),
        (f"https://user:{PLAIN2}@example.org/repo.git", PLAIN2),
    ],
)
def test_text_secrets_are_masked(text: str, secret: str) -> None:
    redacted = Redactor().text(text)
    assert secret not in redacted and MASK in redacted


@pytest.mark.parametrize("text", [
    "# Authors: The scikit-learn developers",
    "Authors: The pandas development team",
    "token generation took 3 s; basic statistics follow",
    "the keyboard: a monkey typed it",
    "key_size: 2048, max_tokens: 256",
    '{"key": "value", "primary_key": "user_id"}',
    "token_url = https://oauth2.example.org/token",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor().text(text) == text
    assert Redactor().text(text, code=True) == text


@pytest.mark.parametrize("magic", [f"%env DB_PASS={PLAIN2}", f"%env DB_PASS {PLAIN2}", f"%set_env API_TOKEN {PLAIN2}",
                                   f"!export DB_PASSWORD={PLAIN2}"])
def test_magics_are_redacted_in_code(magic: str) -> None:
    redacted = Redactor().text(f"{magic}\nprint(1)", code=True)
    assert PLAIN2 not in redacted and redacted.endswith("\nprint(1)")


def test_known_values_from_the_environment_are_masked_anywhere() -> None:
    redactor = Redactor.from_environ({"MY_SERVICE_TOKEN": "zz-very-secret-zz", "HOME": "/root", "PWD": "/work",
                                      "DB_PASS": PLAIN2})
    assert redactor.text("value: zz-very-secret-zz!") == f"value: {MASK}!"
    assert redactor.text(f"connected with {PLAIN2}") == f"connected with {MASK}"
    assert redactor.text("/work and /root stay") == "/work and /root stay"


def test_a_value_printed_as_a_secret_is_learned() -> None:
    redactor = Redactor()
    redactor.text("DB_PASSWORD=plainwordsecret")
    assert redactor.text("x = 'plainwordsecret'", code=True) == f"x = '{MASK}'"


def test_a_value_assigned_in_code_is_masked_in_later_outputs() -> None:
    redactor = Redactor()
    assert redactor.text(f'openai_api_key = "{PLAIN}"', code=True) == f'openai_api_key = "{MASK}"'
    assert redactor.text(f"the key is {PLAIN}\n") == f"the key is {MASK}\n"


def test_params_dict_keys_and_nested_values_are_masked_and_remembered() -> None:
    redactor = Redactor()
    params = redactor.mapping({"api_key": PLAIN, "lr": 0.1, "db": {"user": "ana", "password": PLAIN2},
                               "use_auth": True, "key_size": 2048})
    assert params == {"api_key": MASK, "lr": 0.1, "db": {"user": "ana", "password": MASK}, "use_auth": True,
                      "key_size": 2048}
    assert redactor.text(f"{PLAIN} / {PLAIN2}") == f"{MASK} / {MASK}"
    assert redactor.value({"a": ["x", {"b": "token: abcdef123"}], "n": 3}) == {"a": ["x", {"b": f"token: {MASK}"}],
                                                                               "n": 3}


@pytest.mark.parametrize(("code", "expected"), [
    ("token = get_token()", "token = get_token()"),
    ("password = os.environ['DB_PASSWORD']", "password = os.environ['DB_PASSWORD']"),
    ("password = 'hunter22'", f"password = '{MASK}'"),
    ("secret_key: str = 'abcdef'", f"secret_key: str = '{MASK}'"),
    ("os.environ['AWS_SECRET_ACCESS_KEY'] = 'abcdefgh'", f"os.environ['AWS_SECRET_ACCESS_KEY'] = '{MASK}'"),
    ("connect(password='hunter22')  # token=abc123def", f"connect(password='{MASK}')  # token={MASK}"),
    ("print('AWS_SECRET_ACCESS_KEY=' + x)", "print('AWS_SECRET_ACCESS_KEY=' + x)"),
    ("key_size = 128\nmonkey = 'banana'", "key_size = 128\nmonkey = 'banana'"),
    ("cfg = {'api_key': 'abcd1234', 'n': 3}", f"cfg = {{'api_key': '{MASK}', 'n': 3}}"),
    ("%nbtrack start run --note 'password=abc123'", f"%nbtrack start run --note 'password={MASK}'"),
    ("d = {'key': 'value'}\ntokens = tokenizer('hi there')", "d = {'key': 'value'}\ntokens = tokenizer('hi there')"),
    ("pad_token = '[PAD]'\nprimary_key = 'user_id'", "pad_token = '[PAD]'\nprimary_key = 'user_id'"),
    ("# Authors: The scikit-learn developers\n# License: BSD 3 clause",
     "# Authors: The scikit-learn developers\n# License: BSD 3 clause"),
    *[(code, code) for code in (
        'class LoginCredentialFetcher:\n    """Converts login tokens."""',
        "ACCESS_KEY = 'AWS_ACCESS_KEY_ID'\nprint(AWS_ACCESS_KEY_ID)",
        "key = f'{uuid.uuid4()}.json'\nsorted(xs, key=lambda x: x)",
    )],
    ("msg = 'password: %s' % pw\nheaders = {'Authorization': 'token ' + tok}",
     "msg = 'password: %s' % pw\nheaders = {'Authorization': 'token ' + tok}"),
])
def test_code_keeps_expressions_and_masks_literals(code: str, expected: str) -> None:
    assert Redactor().text(code, code=True) == expected


def frame() -> pd.DataFrame:
    return pd.DataFrame({"user": ["ana", "bob"], "password": [PLAIN, "hunter"], "api_token": [PLAIN2, "x"]})


@pytest.mark.parametrize("render", [repr, lambda df: df.to_html(), lambda df: repr(df.T), lambda df: df.to_string()],
                         ids=["text", "html", "transposed", "to_string"])
def test_dataframe_columns_with_secret_names_are_masked(render) -> None:  # type: ignore[no-untyped-def]
    redactor = Redactor()
    shown = redactor.text(render(frame()))
    assert PLAIN not in shown and PLAIN2 not in shown and "hunter" not in shown
    assert "ana" in shown and "bob" in shown and "password" in shown and "api_token" in shown
    assert redactor.text(f"later: {PLAIN2}") == f"later: {MASK}"  # remembered


def test_a_series_named_by_secret_rows_is_masked() -> None:
    shown = Redactor().text(repr(pd.Series({"user": "ana", "password": PLAIN2})))
    assert PLAIN2 not in shown and "ana" in shown


def png_with(inside: str) -> str:
    """A valid base64 payload (as an image/png output holds) with `inside` in its text."""
    head = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(250))[:247]).decode()
    assert len(head) % 4 == 0 and len(inside) % 4 == 0
    return head + inside + base64.b64encode(bytes(range(90))).decode()


GOOGLE_SHAPE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW" + "xyz12"  # a Google key's shape, and more


def test_binary_payloads_are_stored_byte_identical() -> None:
    payload = png_with(GOOGLE_SHAPE)
    output = {"output_type": "display_data", "metadata": {}, "data": {"image/png": payload, "text/plain": "<Figure>"}}
    redactor = Redactor()
    redactor.learn([payload[100:112]])  # even a remembered value that happens to occur inside
    assert redactor.value(output) == output
    html = f'<img src="data:image/png;base64,{payload}">'
    assert redactor.text(html) == html
    assert redactor.text(payload + "\n") == payload + "\n"  # a long base64 run printed as text


# ---- properties: innocent code and binary payloads come back unchanged
ORDINARY = ["Authors", "keyboard", "monkey", "tokenizer", "compass", "passenger", "secretary", "keynote", "data",
            "model", "score", "alpha", "key_size", "max_tokens", "primary_key", "pad_token", "tokens", "value", "x"]
WORDS = [*ORDINARY, "The", "scikit-learn", "developers", "License", "BSD", "fit", "predict", "key", "token", "idea"]
names = st.sampled_from(ORDINARY)
words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
literal = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
                    words.map(repr), st.just("None"), st.just("True"))
line = st.one_of(
    st.tuples(names, literal).map(lambda p: f"{p[0]} = {p[1]}"),
    st.tuples(names, names, literal).map(lambda p: f"{p[0]} = {p[1]}({p[2]})"),
    st.tuples(names, words).map(lambda p: f"# {p[0]}: {p[1]}"),
    st.tuples(names, literal, names, literal).map(lambda p: f"cfg = {{{p[0]!r}: {p[1]}, {p[2]!r}: {p[3]}}}"),
    st.tuples(names, words).map(lambda p: f"print(f'{p[0]}: {{{p[0]}}} {p[1]}')"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, min_size=1, max_size=12).map("\n".join))
def test_innocent_code_is_never_changed(code: str) -> None:
    assert Redactor().text(code, code=True) == code
    assert Redactor().text(code) == code


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.text(alphabet=string.ascii_letters + string.digits, min_size=6,
                                                      max_size=12))
def test_binary_outputs_are_never_changed(data: bytes, learned: str) -> None:
    payload = base64.b64encode(data).decode()
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {"image/png": {"width": 3}},
              "data": {"image/png": payload, "image/jpeg": payload, "application/pdf": payload}}
    redactor = Redactor()
    redactor.learn([learned, payload[:8]])
    assert redactor.value(output) == output


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_redaction_never_fails_and_is_stable(text: str) -> None:
    redactor = Redactor()
    once = redactor.text(text)
    assert redactor.text(once) == once
    code = redactor.text(text, code=True)
    assert redactor.text(code, code=True) == code
