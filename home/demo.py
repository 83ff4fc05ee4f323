"""Demo content of the site: the page tree, the home page's words and hero,
and the blog's articles (`blog.demo`). Idempotent."""

from blog.demo import articles_seed, illustration
from home.models import HomePage
from home.tree import site_tree_ensure


def seed(*, stdout) -> None:
    home, blog = site_tree_ensure()
    _seed_home(home, stdout)
    articles_seed(index=blog, stdout=stdout)


def _seed_home(home: HomePage, stdout) -> None:
    if home.hero_image_id and home.live and home.introduction:
        return
    home.hero_title = "Mailings that arrive"
    home.hero_text = (
        "Keep your clients, write your messages and schedule mailings: once, "
        "daily, weekly or monthly. Every delivery is logged with the mail "
        "server's reply."
    )
    home.introduction = (
        "<p>Mailsite is a self-hosted mailing service. Sign up, confirm your "
        "address and send your first mailing in minutes. Managers keep an eye "
        "on every mailing; the blog below has guides and news.</p>"
    )
    home.seo_title = "Mailsite: mailings that arrive"
    home.search_description = (
        "A self-hosted mailing service: clients, messages and scheduled "
        "mailings, delivered reliably with every server reply on record."
    )
    home.hero_image = illustration(
        "Mailsite", ((30, 64, 175), (59, 130, 246)), seed=99, size=(1280, 800)
    )
    home.save_revision().publish()
    stdout.write("Home page: hero, introduction and call to action")
