/* Start ReDoc on /api/redoc (autotrader/api/urls.py) under the site's Content-Security-Policy.
 *
 * - ReDoc adds its styles as <style> elements at run time. Rather than allow
 *   inline styles, it is given the page's CSP nonce (which this script tag
 *   carries) and puts it on every style it adds.
 * - ReDoc always shows its vendor's logo from https://cdn.redoc.ly. Nothing on
 *   this page may leave the host (the policy refuses it, and says so on the
 *   console), so that one image is never given its address and stays hidden.
 *   React sets it both as an attribute and as a property: both are caught.
 */
(function () {
  "use strict";
  var VENDOR_LOGO = "https://cdn.redoc.ly/";

  function isVendorLogo(img, value) {
    if (String(value).indexOf(VENDOR_LOGO) !== 0) return false;
    img.hidden = true;
    return true;
  }

  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      if (!isVendorLogo(this, value)) src.set.call(this, value);
    },
  });
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && name === "src" && isVendorLogo(this, value)) return;
    setAttribute.call(this, name, value);
  };

  var container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.specUrl, { nonce: document.currentScript.nonce }, container);
})();
