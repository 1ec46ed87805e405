"""The plugin's own catalogues (xrm_contacts/translations) join the platform's: its words follow the user's language."""

from __future__ import annotations

import xrm_sdk as xrm


def test_a_french_or_spanish_user_sees_the_plugins_navigation_and_titles_in_their_language(xrm_client):
    english = xrm_client.get("/contacts/").get_data(as_text=True)
    assert '<a href="/contacts/duplicates/">Duplicates</a>' in english
    assert "The people you may see, with how to reach them." in english

    assert xrm_client.post("/account/preferences", data={"locale": "fr"}).status_code == 302
    french = xrm_client.get("/contacts/").get_data(as_text=True)
    assert '<a href="/contacts/duplicates/">Doublons</a>' in french  # the plugin's catalogue
    assert "Les personnes que vous pouvez voir, et comment les joindre." in french
    assert "Accueil" in french  # the core's words, from the core's catalogue, on the same page
    assert "<h1>Doublons</h1>" in xrm_client.get("/contacts/duplicates/").get_data(as_text=True)

    assert xrm_client.post("/account/preferences", data={"locale": "es"}).status_code == 302
    spanish = xrm_client.get("/contacts/").get_data(as_text=True)
    assert '<a href="/contacts/">Contactos</a>' in spanish and "<h1>Contactos</h1>" in spanish
    assert '<a href="/contacts/segments/">Segmentos</a>' in spanish


def test_texts_marked_lazily_stay_english_outside_a_request():
    assert str(xrm.lazy_gettext("Duplicates")) == "Duplicates"
