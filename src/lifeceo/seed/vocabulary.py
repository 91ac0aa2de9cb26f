"""Fixed word lists the seeder draws from: a tango community, so that demo pages read plausibly."""

# City and IANA zone of the venue, as events store them.
TANGO_CITIES = (
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Montevideo", "America/Montevideo"),
    ("Berlin", "Europe/Berlin"),
    ("Paris", "Europe/Paris"),
    ("Istanbul", "Europe/Istanbul"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Barcelona", "Europe/Madrid"),
    ("Lisbon", "Europe/Lisbon"),
    ("Rome", "Europe/Rome"),
    ("Krakow", "Europe/Warsaw"),
    ("Zurich", "Europe/Zurich"),
    ("London", "Europe/London"),
    ("Stockholm", "Europe/Stockholm"),
    ("Helsinki", "Europe/Helsinki"),
    ("Athens", "Europe/Athens"),
    ("New York", "America/New_York"),
    ("San Francisco", "America/Los_Angeles"),
    ("Portland", "America/Los_Angeles"),
    ("Medellin", "America/Bogota"),
    ("Tokyo", "Asia/Tokyo"),
    ("Seoul", "Asia/Seoul"),
    ("Melbourne", "Australia/Melbourne"),
)

FIRST_NAMES = (
    "Ana", "Lucia", "Sofia", "Valentina", "Camila", "Martina", "Elena", "Ines", "Clara", "Julia",
    "Mariana", "Paula", "Carmen", "Lea", "Mila", "Nora", "Yuki", "Hana", "Aylin", "Zeynep",
    "Juan", "Carlos", "Diego", "Mateo", "Pablo", "Javier", "Tomas", "Lucas", "Martin", "Hugo",
    "Felix", "Jonas", "Emre", "Kenji", "Min-jun", "Marco", "Luca", "Pedro", "Andres", "Nicolas",
)
LAST_NAMES = (
    "Garcia", "Fernandez", "Lopez", "Martinez", "Rodriguez", "Gomez", "Diaz", "Alvarez", "Romero",
    "Suarez", "Pereyra", "Castro", "Rossi", "Bianchi", "Muller", "Schmidt", "Dubois", "Martin",
    "Yilmaz", "Kaya", "Tanaka", "Sato", "Kim", "Park", "Silva", "Santos", "Nowak", "Berg", "Smith",
    "Novak",
)

BIO_OPENINGS = (
    "Dancing tango since {year}.", "Started with a beginners' class in {year} and never stopped.",
    "Milonguero at heart, nuevo on weekends.", "Teaching and learning in {city}.",
    "Chasing the perfect embrace since {year}.", "DJ of golden-age tandas.",
    "Organizer of a small practica in {city}.", "Traveling from encuentro to encuentro.",
)
BIO_CLOSINGS = (
    "Di Sarli for the soul, D'Arienzo for the feet.", "Always up for a vals tanda.",
    "Ask me about shoes.", "Cabeceo spoken here.", "Pugliese makes me cry.",
    "Looking for practice partners.", "Musicality over steps.", "",
)

ORCHESTRAS = (
    "Di Sarli", "D'Arienzo", "Pugliese", "Troilo", "Biagi", "Canaro", "Calo", "Tanturi", "Fresedo",
    "De Angelis", "Laurenz", "Donato", "Rodriguez", "D'Agostino",
)
POST_OPENINGS = (
    "Last night's milonga in {city} was magical.", "Who else is going to the marathon in {city}?",
    "Practicing ochos all week and finally they feel right.",
    "The {orchestra} tanda at the end of the night was perfect.",
    "New shoes, sore feet, happy heart.", "Looking for a partner for the practica on Thursday.",
    "Our teacher says the embrace comes first, the steps later.",
    "Tonight: {orchestra} valses and a crowded floor.", "Just got back from a festival in {city}.",
    "Thinking about musicality: dancing the pauses, not just the beat.",
    "The floor craft at yesterday's milonga was wonderful.",
)
POST_MIDDLES = (
    "The DJ played {orchestra} and nobody sat down.", "The cabeceo worked across the whole room.",
    "We stayed until the cortina at 4 am.", "Small floor, big hearts.",
    "Every tanda felt like a conversation.", "My back ochos still need work.",
    "Thank you to everyone who came.", "Next month we do it again.",
)
POST_CLOSINGS = (
    "See you on the floor!", "Abrazos.", "Any recommendations?", "Who is in?",
    "Photos soon.", "Feeling grateful.", "",
)
POST_TAGS = (
    "tango", "milonga", "vals", "practica", "festival", "marathon", "encuentro", "musicality",
    "embrace", "shoes", "dj", "tanda", "cabeceo", "technique", "travel", "orchestras",
)

EVENT_KINDS = (
    ("Milonga {name}", 4, ("milonga",)),
    ("Practica {name}", 3, ("practica",)),
    ("{city} Tango Marathon", 48, ("marathon", "milonga")),
    ("Encuentro Milonguero {city}", 36, ("encuentro", "milonga")),
    ("Workshop: {topic}", 2, ("workshop", "technique")),
    ("{orchestra} night", 5, ("milonga", "orchestras")),
)
EVENT_NAMES = (
    "La Viruta", "El Abrazo", "Corazon", "La Luna", "Bailemos", "Sentimiento", "La Yumba",
    "El Chamuyo", "Solo Tango", "La Ventana", "Barrio", "Cachirulo",
)
WORKSHOP_TOPICS = (
    "the embrace", "musicality in vals", "milonga traspie", "floor craft", "giros and sacadas",
    "walking together", "the cabeceo",
)
VENUES = (
    "Salon Canning", "Club Sunderland", "the community hall", "Studio 3", "the old ballroom",
    "Hotel Central", "the riverside pavilion", "Casa del Tango",
)
PRICES = (0, 5, 8, 10, 12, 15, 20, 25, 40, 60, 120)

COMMENTS = (
    "So true!", "See you there.", "Abrazos!", "Wish I had been there.", "Great tanda choice.",
    "Count me in.", "Which DJ was it?", "Beautiful.", "Thanks for organizing!", "Me too!",
)
