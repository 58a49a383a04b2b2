"""Small shims so menpo 0.11, menpofit 0.7 and menpo3d 0.8 run on numpy 2 and scipy >= 1.14.

Those releases are the latest of the menpo family, but they predate numpy 2.0 (which removed
``np.product``) and scipy 1.14 (which removed ``scipy.integrate.simps``). Rather than pin the
whole scientific stack to 2023 versions, we restore the two removed aliases, pointing at their
documented replacements. Importing :mod:`affect` applies the shims once.
"""

import numpy as np
import scipy.integrate

if not hasattr(np, "product"):  # used by menpo3d 0.8.6's rasteriser; removed in numpy 2.0
    np.product = np.prod
if not hasattr(scipy.integrate, "simps"):  # imported by menpofit 0.7.1; removed in scipy 1.14
    scipy.integrate.simps = scipy.integrate.simpson
