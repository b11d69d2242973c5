import { mount } from 'svelte'
import App from './App.svelte'
import { HttpTransport } from './api/http-transport.ts'
import { takeToken } from './api/token.ts'
import './app.css'
import { AppState } from './state/app.svelte.ts'
import { applyTheme, storedTheme } from './state/theme.ts'

applyTheme(storedTheme(localStorage))
const token = takeToken(location, history, sessionStorage)
// The page is served by the node it talks to, so the node is wherever the page came from.
const app = token === null ? null : new AppState(new HttpTransport(location.origin, token))
app?.start()
const target = document.getElementById('app')
if (target === null) throw new Error('index.html has no #app element')
mount(App, { target, props: { app } })
