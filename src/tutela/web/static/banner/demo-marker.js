/* Demo of a tagged script: runs only once its category is allowed, then leaves a trace. */
(() => {
  const me = document.currentScript;
  const category = me.getAttribute('data-demo');
  const marker = me.getAttribute('data-marker');
  window['__ran_' + category] = true;
  document.cookie = marker + '=demo; Max-Age=3600; Path=/; SameSite=Lax';
})();
