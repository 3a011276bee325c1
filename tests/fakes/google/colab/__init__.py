"""A stand-in for Colab's ``google.colab`` package, for tests only (Colab cannot run here).

It implements, in its own code, the parts of colabtools nbtrack uses, with the same names,
signatures and wire protocol as googlecolab/colabtools:

* ``_message``: ``send_request`` publishes a ``colab_request`` message on the kernel's iopub
  socket (metadata ``colab_msg_id`` / ``colab_request_type``, parent routed by session only),
  and ``blocking_request`` polls the kernel's stdin socket for an ``input_reply`` whose value is
  ``{"type": "colab_reply", "colab_msg_id": ..., "data": ...}`` (or ``"error"``), returning
  ``data``, or None at the timeout. The Colab *frontend* is played by the test
  (tests/colab/frontend.py), which answers ``get_ipynb`` with the live notebook.
* ``output.enable_custom_widget_manager()``: registers a display-publisher hook that adds the
  custom widget manager's URL to every widget view's metadata, as Colab does.
* ``drive.mount(mountpoint)``: makes ``<mountpoint>/MyDrive`` appear (a local folder standing
  in for Google Drive).
"""

from google.colab import output  # Colab's package loads its output helpers on import too

__all__ = ["output"]
