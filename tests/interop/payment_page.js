// The browser payment page (l402_payment_html) in headless Chromium, end to end: open a paid
// location, see the 402 page, pay with the fake backend, land on the paid content.
//   node payment_page.js <chromium> <target url> <pay url> <mode> <qr png> [screenshot dir]
// mode: "webln"  - the page's WebLN button, with a window.webln that pays through <pay url>
//       "poll"   - paid out of band; the page's status poll notices and reloads
//       "manual" - paid out of band; the preimage typed into the page's form
// Prints one JSON line with what was seen at each step.
const puppeteer = require("puppeteer-core");
const path = require("path");

async function payOutOfBand(pay, invoice) {
  const r = await fetch(pay + "?invoice=" + encodeURIComponent(invoice));
  return (await r.text()).trim();
}

(async () => {
  const [chromium, target, pay, mode, qrPath, shots] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const timer = setTimeout(() => { console.log(JSON.stringify({ error: "timeout" })); process.exit(2); }, 45000);
  const out = { mode, paid: 0, console: [] };
  const shot = async (page, name) => {
    if (shots) await page.screenshot({ path: path.join(shots, name), fullPage: true });
  };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 640, height: 900 });
    page.on("console", (m) => out.console.push(m.text()));
    page.on("pageerror", (e) => out.console.push("pageerror: " + e.message));
    if (mode === "webln") {
      await page.exposeFunction("__l402Pay", async (invoice) => {
        out.paid += 1;
        return payOutOfBand(pay, invoice);
      });
      await page.evaluateOnNewDocument(() => {
        window.webln = {
          enable: async () => {},
          sendPayment: async (invoice) => ({ preimage: await window.__l402Pay(invoice) }),
        };
      });
    }
    const first = await page.goto(target, { waitUntil: "load" });
    out.first = {
      status: first.status(),
      type: first.headers()["content-type"],
      csp: first.headers()["content-security-policy"] || null,
      challenge: first.headers()["www-authenticate"] || null,
      qr: await page.$eval(".qr svg path", (p) => p.getAttribute("d").length).catch(() => 0),
      amount: await page.$eval(".amount strong", (e) => e.textContent).catch(() => null),
      webln_button: await page.$eval("#pay-webln", (b) => !b.hidden).catch(() => null),
    };
    await shot(page, `payment-page-1-challenge-${mode}.png`);
    // The QR code as the browser drew it, for the test to decode.
    const qr = await page.$(".qr svg");
    if (qr && qrPath) await qr.screenshot({ path: qrPath });
    const invoice = await page.$eval("#invoice", (t) => t.value);
    out.invoice = invoice;
    const landed = page.waitForNavigation({ waitUntil: "load", timeout: 20000 });
    if (mode === "webln") {
      await page.click("#pay-webln");
    } else if (mode === "poll") {
      out.paid += 1;
      await payOutOfBand(pay, invoice);
    } else if (mode === "manual") {
      out.paid += 1;
      const preimage = await payOutOfBand(pay, invoice);
      await page.type("#preimage", preimage);
      await shot(page, `payment-page-2-preimage-${mode}.png`);
      await page.click("#manual button[type=submit]");
    }
    const second = await landed;
    out.second = { status: second ? second.status() : null, body: await page.evaluate(() => document.body.innerText) };
    await shot(page, `payment-page-3-paid-${mode}.png`);
    const cookies = await page.cookies();
    out.cookies = cookies.map((c) => ({ name: c.name, path: c.path, httpOnly: c.httpOnly, sameSite: c.sameSite,
      secure: c.secure, session: c.session, expires: c.expires, value_len: c.value.length }));
    out.document_cookie = await page.evaluate(() => document.cookie);
    // A single-use token is spent by that load: the next one is a fresh page with the reason.
    const third = await page.reload({ waitUntil: "load" });
    out.third = {
      status: third.status(),
      refused: await page.$eval(".refused", (e) => e.textContent).catch(() => null),
      set_cookie: third.headers()["set-cookie"] || null,
    };
    await shot(page, `payment-page-4-used-${mode}.png`);
    out.cookies_after = (await page.cookies()).map((c) => c.name);
    console.log(JSON.stringify(out));
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
