"""What a PostgreSQL text column can hold, checked where request bodies are validated."""


def without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL; rejecting it here keeps it a 422 instead of a 500.
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text
