"""Demo content: a handful of illustrated articles,
one of them in Russian.

The illustrations are drawn with Pillow, so seeding needs no network.
Idempotent: articles are found by slug, images by title.
"""

import io
import math
import random
from datetime import timedelta

from django.core.files.images import ImageFile
from django.utils import timezone
from PIL import Image as PillowImage
from PIL import ImageDraw
from wagtail.images.models import Image

from blog.models import BlogIndexPage, BlogPage

ARTICLES = [
    (
        "five-rules-for-mailings-that-arrive",
        "Five rules for mailings that arrive",
        "Authentication, a steady pace and clean lists: what gets your mail "
        "into the inbox.",
        ((33, 99, 235), (14, 165, 233)),
    ),
    (
        "reading-the-delivery-log",
        "Reading the delivery log",
        "Every delivery keeps the mail server's reply. Here is what 250, 421 "
        "and 550 tell you.",
        ((22, 163, 74), (132, 204, 22)),
    ),
    (
        "daily-weekly-monthly",
        "Daily, weekly, monthly: choosing a rhythm",
        "Recurring mailings keep their time of day; monthly ones keep their "
        "day of the month.",
        ((217, 70, 239), (244, 114, 182)),
    ),
    (
        "when-the-mail-server-says-try-later",
        "When the mail server says “try later”",
        "Temporary failures are retried with growing pauses, and a failing "
        "server pauses the run instead of burning through your list.",
        ((234, 88, 12), (250, 204, 21)),
    ),
    (
        "personal-greetings",
        "Personal greetings with placeholders",
        "Write {{ full_name }} once and every client reads their own name.",
        ((79, 70, 229), (168, 85, 247)),
    ),
    (
        "keeping-your-client-list-tidy",
        "Keeping your client list tidy",
        "Normalised addresses, no duplicates and a comment for each client: a "
        "list you can trust.",
        ((13, 148, 136), (45, 212, 191)),
    ),
    (
        "unsubscribe-links-done-right",
        "Unsubscribe links done right",
        "One click, no login, and later runs skip that recipient.",
        ((190, 18, 60), (251, 113, 133)),
    ),
]


# Body texts of an article, per language: heading, list items, quote and its
# attribution.
BODY_WORDS = {
    "en": (
        "What to do",
        [
            "Start small and watch the delivery log.",
            "Fix what the server tells you before sending more.",
            "Keep a steady pace.",
        ],
        "The server's reply is the only truth about a delivery.",
        "The Mailsite team",
    ),
    "ru": (
        "Что делать",
        [
            "Начинайте с малого и следите за журналом доставки.",
            "Исправьте то, о чём сообщает почтовый сервер, прежде чем "
            "отправлять дальше.",
            "Отправляйте в ровном темпе.",
        ],
        "Ответ почтового сервера — единственная правда о доставке.",
        "Команда Mailsite",
    ),
}
RUSSIAN_ARTICLES = [
    (
        "raspisanie-i-chasovye-poyasa",
        "Расписание рассылок и часовые пояса",
        "Рассылка уходит в 9:00 по вашему времени — и зимой, и летом: "
        "Mailsite учитывает переход на летнее время вашего часового пояса.",
        ((88, 28, 135), (192, 132, 252)),
    ),
]


def articles_seed(*, index: BlogIndexPage, stdout) -> None:
    """Publish the demo articles (and their illustrations) under `index`."""
    articles = [(*article, "en") for article in ARTICLES] + [
        (*article, "ru") for article in RUSSIAN_ARTICLES
    ]
    for number, (slug, title, introduction, colours, language) in enumerate(articles):
        if BlogPage.objects.filter(slug=slug).exists():
            continue
        image = illustration(title, colours, seed=number)
        article = BlogPage(
            title=title,
            slug=slug,
            introduction=introduction,
            search_description=introduction,
            image=image,
            date_published=timezone.now()
            - timedelta(days=3 * (len(articles) - number)),
            body=_body(title, introduction, image, language=language),
        )
        index.add_child(instance=article)
        article.save_revision().publish()
        stdout.write(f"Article: {title}")


def _body(title, introduction, image, *, language="en"):
    heading, items, quote, attribution = BODY_WORDS[language]
    return [
        ("paragraph", f"<p>{introduction}</p>"),
        ("heading", {"text": heading, "size": "h2"}),
        (
            "paragraph",
            "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>",
        ),
        ("image", {"image": image, "caption": title, "attribution": "Mailsite"}),
        ("quote", {"text": quote, "attribution": attribution}),
        ("code", {"language": "text", "code": "250 2.0.0 OK: queued as 4F2A1"}),
    ]


def illustration(title, colours, *, seed, size=(1600, 900)) -> Image:
    """An abstract illustration: a gradient with envelopes, as a Wagtail image."""
    existing = Image.objects.filter(title=title).first()
    if existing is not None:
        return existing
    width, height = size
    picture = PillowImage.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    (r1, g1, b1), (r2, g2, b2) = colours
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=(
                int(r1 + (r2 - r1) * t),
                int(g1 + (g2 - g1) * t),
                int(b1 + (b2 - b1) * t),
            ),
        )
    rng = random.Random(seed)
    for _ in range(9):
        w = rng.randint(width // 10, width // 5)
        h = int(w * 0.62)
        x = rng.randint(0, width - w)
        y = rng.randint(0, height - h)
        angle = rng.uniform(-0.3, 0.3)
        _envelope(draw, x, y, w, h, angle)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    image = Image(title=title)
    image.file = ImageFile(buffer, name=f"{slug[:60]}.png")
    image.save()
    return image


def _envelope(draw, x, y, w, h, angle):
    cx, cy = x + w / 2, y + h / 2

    def turn(px, py):
        dx, dy = px - cx, py - cy
        return (
            cx + dx * math.cos(angle) - dy * math.sin(angle),
            cy + dx * math.sin(angle) + dy * math.cos(angle),
        )

    corners = [turn(x, y), turn(x + w, y), turn(x + w, y + h), turn(x, y + h)]
    draw.polygon(corners, fill=(255, 255, 255), outline=(30, 41, 59))
    draw.line(
        [corners[0], turn(cx, y + h * 0.55), corners[1]], fill=(30, 41, 59), width=4
    )
