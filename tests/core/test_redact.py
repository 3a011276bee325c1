"""Secret redaction: the four nets, in text and in code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbtrack.core.redact import MASK, Redactor, is_secret_name

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "api_key", "OPENAI_API_KEY",
                                  "HF_TOKEN", "client_secret", "KEY", "MY_PASSWD", "AZURE_STORAGE_SAS"])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "PWD", "OLDPWD", "LANG", "PYTHONHASHSEED", "KEYBOARD_LAYOUT",
                                  "MONKEY", "OMP_NUM_THREADS", "TOKENIZERS_PARALLELISM"])
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
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "dozjgNryP4J3",
        ),
        ('{"password": "CorrectHorse"}', "CorrectHorse"),
        ("password=hunter2x", "hunter2x"),
        ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890"),
        ("openai sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abcdefghij"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
        ("curl 'https://api.x.com/v1?api_key=abcd1234efgh&q=1'", "abcd1234efgh"),
    ],
)
def test_text_secrets_are_masked(text: str, secret: str) -> None:
    redacted = Redactor().text(text)
    assert secret not in redacted and MASK in redacted


def test_known_values_from_the_environment_are_masked_anywhere() -> None:
    redactor = Redactor.from_environ({"MY_SERVICE_TOKEN": "zz-very-secret-zz", "HOME": "/root", "PWD": "/work"})
    assert redactor.text("value: zz-very-secret-zz!") == f"value: {MASK}!"
    assert redactor.text("/work and /root stay") == "/work and /root stay"


def test_a_value_printed_as_a_secret_is_learned() -> None:
    redactor = Redactor()
    redactor.text("DB_PASSWORD=plainwordsecret")
    assert redactor.text("x = 'plainwordsecret'", code=True) == f"x = '{MASK}'"


@pytest.mark.parametrize(("code", "expected"), [
    ("token = get_token()", "token = get_token()"),
    ("password = os.environ['DB_PASSWORD']", "password = os.environ['DB_PASSWORD']"),
    ("password = 'hunter22'", f"password = '{MASK}'"),
    ("secret_key: str = 'abcdef'", f"secret_key: str = '{MASK}'"),
    ("os.environ['AWS_SECRET_ACCESS_KEY'] = 'abcdefgh'", f"os.environ['AWS_SECRET_ACCESS_KEY'] = '{MASK}'"),
    ("connect(password='hunter22')  # token=abcdef", f"connect(password='{MASK}')  # token={MASK}"),
    ("print('AWS_SECRET_ACCESS_KEY=' + x)", "print('AWS_SECRET_ACCESS_KEY=' + x)"),
    ("key_size = 128\nmonkey = 'banana'", "key_size = 128\nmonkey = 'banana'"),
    ("cfg = {'api_key': 'abcd1234', 'n': 3}", f"cfg = {{'api_key': '{MASK}', 'n': 3}}"),
    ("%nbtrack start run --note 'password=abc123'", f"%nbtrack start run --note 'password={MASK}'"),
])
def test_code_keeps_expressions_and_masks_literals(code: str, expected: str) -> None:
    assert Redactor().text(code, code=True) == expected


def test_value_walks_json_and_mapping_masks_by_name() -> None:
    redactor = Redactor()
    assert redactor.value({"a": ["x", {"b": "token: abcdef123"}], "n": 3}) == {
        "a": ["x", {"b": f"token: {MASK}"}],
        "n": 3,
    }
    assert redactor.mapping({"api_key": "abc", "lr": 0.1}) == {"api_key": MASK, "lr": 0.1}


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_redaction_never_fails_and_is_stable(text: str) -> None:
    redactor = Redactor()
    once = redactor.text(text)
    assert redactor.text(once) == once
    redactor.text(text, code=True)
