// Picking a canned reply copies its text into the reply box, to be edited before sending.
(function () {
  "use strict";
  var selects = document.querySelectorAll("select.canned");
  Array.prototype.forEach.call(selects, function (select) {
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var target = document.getElementById(select.getAttribute("data-target"));
      if (target && option && option.getAttribute("data-text")) {
        target.value = option.getAttribute("data-text");
        target.focus();
      }
    });
  });
})();
