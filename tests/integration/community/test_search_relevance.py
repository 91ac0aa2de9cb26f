"""A small labelled relevance set over seeded documents: each query's expected first result.
Exact usernames and event titles must always come first; the share of the rest is reported."""


from tests import factories
from tests.integration.community.test_search import event, post

USERS = [  # username, display name, bio, city, roles
    ("piazzolla", "Astor Piazzolla", "Bandoneón y nuevo tango", "Mar del Plata", ["teacher"]),
    ("pugliese", "Osvaldo Pugliese", "Orquesta típica, la yumba", "Buenos Aires", ["dj"]),
    ("dj_mariana", "Mariana DJ", "Tandas clásicas para milongas", "Córdoba", ["dj"]),
    ("maria_tango", "María Tango", "Profesora de tango salón", "Rosario", ["teacher", "leader"]),
    ("tango_john", "John Smith", "Tango teacher from London", "London", ["teacher"]),
    ("milonguero", "El Milonguero", "Bailo en Almagro", "Buenos Aires", ["leader"]),
]
EVENTS = [  # title, city, description
    ("La Viruta", "Buenos Aires", "Milonga hasta el amanecer con clase previa"),
    ("Milonga de los Consagrados", "Buenos Aires", "Orquesta en vivo y exhibición"),
    ("Tango Marathon Berlin", "Berlin", "Three days of social dancing"),
    ("Práctica Nocturna", "Córdoba", "Práctica guiada para todos los niveles"),
    ("Festival de Vals", "Rosario", "Valses criollos y milongas"),
]
POSTS = [  # author, body, tags
    ("piazzolla", "Adiós Nonino es mi obra más personal", ["composicion"]),
    ("pugliese", "La yumba suena mejor con la orquesta completa", ["orquesta"]),
    ("dj_mariana", "Mi tanda favorita de D'Arienzo para abrir la noche", ["tandas"]),
    ("tango_john", "Great workshop on close embrace technique in London", ["workshop"]),
    ("maria_tango", "Consejos para el abrazo cerrado en la pista", ["tecnica"]),
    ("milonguero", "Los cabeceos de la milonga del sábado fueron perfectos", ["codigos"]),
]
# (query, type, expected first: username, event title or post body start)
EXACT = [(username, "users", username) for username, *_ in USERS] + [
    (title, "events", title) for title, *_ in EVENTS]
LABELLED = [
    ("bandoneon", "users", "piazzolla"),
    ("osvaldo", "users", "pugliese"),
    ("profesora rosario", "users", "maria_tango"),
    ("london teacher", "users", "tango_john"),
    ("viruta", "events", "La Viruta"),
    ("marathon", "events", "Tango Marathon Berlin"),
    ("practica cordoba", "events", "Práctica Nocturna"),
    ("valses", "events", "Festival de Vals"),
    ("yumba", "posts", "La yumba"),
    ("abrazo", "posts", "Consejos para el abrazo"),
    ("embrace", "posts", "Great workshop"),
    ("cabeceo", "posts", "Los cabeceos"),
    ("nonino", "posts", "Adiós Nonino"),
    ("tandas darienzo", "posts", "Mi tanda favorita"),
    ("Pugliese orquesta", "posts", "La yumba"),
]


def _first(item: dict) -> str:
    if item["type"] == "user":
        return item["user"]["username"]
    if item["type"] == "event":
        return item["event"]["title"]
    return item["post"]["body"]


async def _seed(client) -> None:
    headers = {}
    for username, display_name, bio, city, roles in USERS:
        headers[username] = await factories.user(client, username, display_name=display_name,
                                                 bio=bio, city=city, roles=roles)
    for days, (title, city, description) in enumerate(EVENTS, start=1):
        await event(client, headers["milonguero"], title, city=city, description=description,
                    days=days)
    for author, body, tags in POSTS:
        await post(client, headers[author], body, tags=tags)


async def _passes(client, query: str, kind: str, expected: str) -> bool:
    response = await client.get("/api/v1/search", params={"q": query, "type": kind})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return bool(items) and _first(items[0]).startswith(expected)


async def test_labelled_relevance(client):
    await _seed(client)
    exact = [case for case in EXACT if not await _passes(client, *case)]
    assert exact == [], "exact usernames and titles must come first"
    failed = [case for case in LABELLED if not await _passes(client, *case)]
    share = 1 - len(failed) / len(LABELLED)
    print(f"\nrelevance: exact {len(EXACT)}/{len(EXACT)}, labelled "
          f"{len(LABELLED) - len(failed)}/{len(LABELLED)} ({share:.0%}); failed: {failed}")
    assert share >= 0.8, failed


