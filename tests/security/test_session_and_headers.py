def test_every_page_sends_a_strict_content_security_policy(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp


def test_every_page_forbids_sniffing_and_framing(client):
    headers = client.get("/healthz").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_scripts_or_styles(client):
    page = client.get("/").get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page and "<style" not in page
