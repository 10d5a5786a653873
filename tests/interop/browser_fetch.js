// Runs @getalby/lightning-tools' fetchWithL402 inside headless Chromium, from a page of one
// origin against a paid location of another (CORS), paying with a WebLN-style wallet that asks
// the fake backend's pay endpoint. Prints one JSON line: {status, body, error, paid}.
//   node browser_fetch.js <chromium> <page url> <target url> <pay url>
const puppeteer = require("puppeteer-core");

(async () => {
  const [chromium, pageUrl, target, pay] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const timer = setTimeout(() => { console.log(JSON.stringify({ error: "timeout" })); process.exit(2); }, 30000);
  try {
    const page = await browser.newPage();
    await page.goto(pageUrl, { waitUntil: "load" });
    const result = await page.evaluate(async (target, pay) => {
      let paid = 0;
      const wallet = {
        payInvoice: async ({ invoice }) => {
          paid += 1;
          const r = await fetch(pay + "?invoice=" + encodeURIComponent(invoice));
          return { preimage: (await r.text()).trim() };
        },
      };
      try {
        const r = await window.LightningTools.fetchWithL402(target, {}, { wallet });
        return { status: r.status, body: await r.text(), paid };
      } catch (e) {
        return { error: String(e), paid };
      }
    }, target, pay);
    console.log(JSON.stringify(result));
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
