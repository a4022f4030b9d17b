//! Pagure import (next).
