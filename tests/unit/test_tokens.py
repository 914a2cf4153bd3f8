from functions.auth.tokens import TOKEN_PREFIX, grants, new_token, token_hash


def test_tokens_are_random_and_hashes_stable() -> None:
    a, b = new_token(), new_token()
    assert a != b and a.startswith(TOKEN_PREFIX)
    assert token_hash(a) == token_hash(a) and token_hash(a) != token_hash(b)
    assert a not in token_hash(a)


def test_write_scope_implies_read_but_not_the_reverse() -> None:
    assert grants(frozenset({"meters:write"}), "meters:read")
    assert not grants(frozenset({"meters:read"}), "meters:write")
    assert not grants(frozenset({"events:write"}), "meters:read")
