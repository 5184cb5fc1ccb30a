"""Which language a refusal reads in: a page defaults to Chinese, the API to English; the caller's
Accept-Language (or their account's language) decides before either default."""


def test_an_api_error_without_a_language_is_english_and_a_page_chinese(client, auth):
    missing = client.get("/api/v1/applications/999999", headers=auth)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == "Application not found."
    chinese = client.get("/api/v1/applications/999999", headers={**auth, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.get_json()["error"]["message"] == "未找到该申请。"
    page = client.get("/login")
    assert 'lang="zh' in page.text
