/* Demo page only: lists which tagged scripts ran and which cookies the page holds. */
(() => {
  const list = document.getElementById('demo-ran');
  const jar = document.getElementById('demo-cookies');
  const none = list.getAttribute('data-none');
  function show() {
    const ran = ['functional', 'analytics', 'marketing'].filter((c) => window['__ran_' + c]);
    list.textContent = ran.length ? ran.join(', ') : none;
    const names = document.cookie.split(';').map((c) => c.split('=')[0].trim()).filter(Boolean);
    jar.textContent = names.length ? names.join(', ') : none;
  }
  document.addEventListener('tutela:consent', () => setTimeout(show, 250));
  document.getElementById('demo-open').addEventListener('click', () => window.tutelaConsent.open());
  show();
  setInterval(show, 1000);
})();
