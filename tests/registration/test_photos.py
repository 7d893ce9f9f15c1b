"""Contestant photos: uploaded with the registration, cleaned, shown only to check-in staff."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from compete.blueprints.registration import services
from compete.domain.errors import InvalidInput


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (1200, 1600), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x0132] = "2026:11:01 08:00:00"  # when it was taken
    out = BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_is_shrunk_and_loses_its_metadata():
    cleaned = services.clean_photo(_jpeg_with_gps())
    with Image.open(BytesIO(cleaned)) as image:
        assert image.format == "JPEG"
        assert image.size[0] <= 600 and image.size[1] <= 800
        assert not image.getexif()


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\nbroken"])
def test_anything_but_an_image_is_refused(data):
    with pytest.raises(InvalidInput):
        services.clean_photo(data)


def test_photo_uploaded_with_the_registration_is_shown_only_to_check_in_staff(
    app, client, world, login_as, csrf
):
    from compete.extensions import db
    from compete.models import Entry, Person

    from .conftest import entry_form, set_state
    from .test_views import ZHANG, new_entry_url

    login_as("unit_contact", unit_id=world.unit)
    data = entry_form(csrf(), {"name": "张三", "id_number": ZHANG})
    data["members-0-photo"] = (BytesIO(_jpeg_with_gps()), "me.jpg")
    response = client.post(new_entry_url(world), data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        person = db.session.scalar(db.select(Person))
        entry = db.session.scalar(db.select(Entry))
        assert person.photo_type == "image/jpeg"
        with Image.open(BytesIO(person.photo)) as image:
            assert not image.getexif()
        entry_id = entry.id
    url = f"/events/{world.event}/entries/{entry_id}/photo/1.jpg"
    assert client.get(url).status_code == 403  # the unit contact is not check-in staff
    set_state(app, world.event, "drawn")
    client.post("/logout", data={"csrf_token": csrf()})
    login_as("score_recorder", event_id=world.event)
    photo = client.get(url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.headers["Cache-Control"] == "no-store"


def test_a_bad_photo_re_shows_the_form_and_saves_nothing(app, client, world, login_as, csrf):
    from compete.extensions import db
    from compete.models import Entry

    from .conftest import entry_form
    from .test_views import ZHANG, new_entry_url

    login_as("unit_contact", unit_id=world.unit)
    data = entry_form(csrf(), {"name": "张三", "id_number": ZHANG})
    data["members-0-photo"] = (BytesIO(b"this is not a picture"), "me.jpg")
    response = client.post(new_entry_url(world), data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Entry.id))) == 0
