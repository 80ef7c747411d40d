import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "mantine-datatable/styles.css";
import "./styles.css";
import { setNonce } from "get-nonce";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { initialLanguage, loadCatalogue } from "./i18n";
import { styleNonce } from "./providers";

// The <style> that locks the page's scrolling under a dialog (react-remove-scroll, inside Mantine's
// Modal) carries this page's nonce too, or the Content-Security-Policy refuses it.
setNonce(styleNonce());

const root = document.getElementById("root");
if (root) {
  // The first page is drawn in the user's language (its words are loaded first, when not English).
  void loadCatalogue(initialLanguage())
    .catch(() => undefined)
    .then(() =>
      createRoot(root).render(
        <StrictMode>
          <App />
        </StrictMode>,
      ),
    );
}
