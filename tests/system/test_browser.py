# The lookup page in a real browser (headless Chromium driven by Selenium):
# search for a listed address, read the zone's verdict, remove the listing
# through the confirmation form, and see DNS change; under the page's own
# Content-Security-Policy, with a screenshot kept as a test artefact.
import os

import pytest

from test_http import ZONE, answer, rev, start_web, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 30  # seconds, for every page load and every wait on an element


def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail("%s is missing: scripts/deps.sh installs chromium and "
                        "chromium-driver (and python3-selenium)" % path, pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        pytest.fail("python3-selenium is missing (%s): scripts/deps.sh installs it" % e,
                    pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=800,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


def artefact_dir(tmp_path):
    d = os.environ.get("DNSBLKIT_ARTIFACTS") or str(tmp_path)
    os.makedirs(d, exist_ok=True)
    return d


def test_lookup_and_remove_in_a_browser(dnsblkit, tmp_path):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    web = start_web(dnsblkit, str(tmp_path))
    ip = "45.83.40.17"
    web.trap(ip, 40)

    driver = browser()
    shots = artefact_dir(tmp_path)
    try:
        wait = WebDriverWait(driver, WAIT)
        driver.get(web.url("/"))
        box = wait.until(EC.visibility_of_element_located((By.NAME, "ip")))
        box.clear()
        box.send_keys(ip)
        form = box.find_element(By.XPATH, "ancestor::form")
        assert form.get_attribute("action").endswith("/lookup")
        form.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()

        section = wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, 'section.zone[data-zone="%s"]' % ZONE)))
        assert "/lookup?" in driver.current_url and "ip=" + ip in driver.current_url
        assert section.get_attribute("data-listed") == "yes"
        assert "127.0.0.2" in section.text, section.text
        # The stylesheet loaded under the page's own policy (style-src 'self').
        rules = driver.execute_script(
            "return Array.from(document.styleSheets)"
            ".reduce((n, s) => n + s.cssRules.length, 0);")
        assert rules > 0
        lookup_png = os.path.join(shots, "http-lookup-listed.png")
        assert driver.save_screenshot(lookup_png)
        print("screenshot:", lookup_png)

        link = section.find_element(By.CSS_SELECTOR, 'a[href*="/remove?"]')
        link.click()
        confirm = wait.until(EC.element_to_be_clickable(
            (By.CSS_SELECTOR, 'form[action="/remove"] button[name="confirm"][value="yes"]')))
        confirm.click()

        try:
            main = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-result]")))
        except TimeoutException:
            pytest.fail("no result page after confirming; at %s:\n%s\nbrowser log: %s"
                        % (driver.current_url, driver.page_source[:2000],
                           driver.get_log("browser")))
        page_text = driver.find_element(By.TAG_NAME, "body").text
        assert main.get_attribute("data-result") == "removed", page_text
        took = wait_for(web.port, rev(ip), None)
        assert took < 1.0
        assert answer(web.port, rev(ip)) is None

        png = os.path.join(shots, "http-removed.png")
        assert driver.save_screenshot(png)
        assert os.path.getsize(png) > 1000
        print("screenshot:", png)

        # Nothing on the way was refused by the Content-Security-Policy.
        refused = [e["message"] for e in driver.get_log("browser")
                   if "Content Security Policy" in e["message"]]
        assert refused == [], refused
    finally:
        driver.quit()
    # The server's own view agrees.
    d = web.get("/api/v1/lookup", params={"ip": ip}).json()
    (z,) = [z for z in d["zones"] if z["zone"] == ZONE]
    assert z["listed"] is False
