def test_the_app_serves_health(client):
    assert client.get("/healthz").status_code == 200


def test_readiness_sees_the_newest_migration(client):
    assert client.get("/readyz").status_code == 200


def test_a_tap_settles_inline(factory):
    payer = factory.account("Ada", deposit=5000)
    payee = factory.account("Bob")
    response = factory.tap(payer, payee, 1250)
    assert response.status_code == 201
    assert response.json["status"] == "settled"
    assert factory.balance(payer) == 3750
    assert factory.balance(payee) == 1250
