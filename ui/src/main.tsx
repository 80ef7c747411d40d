import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "mantine-datatable/styles.css";
import "./styles.css";
import { setNonce } from "get-nonce";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { styleNonce } from "./providers";

// The <style> that locks the page's scrolling under a dialog (react-remove-scroll, inside Mantine's
// Modal) carries this page's nonce too, or the Content-Security-Policy refuses it.
setNonce(styleNonce());

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
