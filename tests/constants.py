"""Values shared by the fixtures (``conftest``) and the browser plugin (``browser``)."""

PASSWORD = "Eco12369-test!"  # the password of every test user (``conftest.make_user``)
