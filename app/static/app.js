// Loanflow's one script. Pages carry no inline handlers (the Content-Security-Policy refuses them):
// behaviour is attached here by data attributes. The pages work without it.
"use strict";
