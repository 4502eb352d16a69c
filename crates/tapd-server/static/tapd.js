// tapd's pages work without JavaScript; this file adds what needs it.
